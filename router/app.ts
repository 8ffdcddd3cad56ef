// The Express 5 application: request context and id, JSON body parsing with a size limit, the OpenAI routes, and
// the single error handler that renders every failure as OpenAI error JSON (never an HTML page, never a crash).
import express, { type NextFunction, type Request, type Response } from 'express';
import { NotFoundError, renderError, toSwitchyardError } from './errors.ts';
import { contextMiddleware } from './routes/context.ts';
import { jsonBody, parseByteSize } from './routes/json-body.ts';
import { createEmbeddingsHandler } from './routes/embeddings.ts';
import { createGenerationHandler } from './routes/generation.ts';
import { createInfoHandlers } from './routes/info.ts';
import type { RouterRuntime } from './runtime/runtime.ts';

export interface AppOptions {
  /** Called with errors that rendered as 5xx (bugs and upstream failures), e.g. to log them. */
  onServerError?: (error: unknown, request: Request) => void;
}

export function createRouterApp(runtime: RouterRuntime, options: AppOptions = {}): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(contextMiddleware(runtime.metrics));
  // Every POST body is read as JSON whatever its content type (curl's default is form-encoded), so a wrong type
  // produces a clear JSON error instead of an empty body.
  app.use(jsonBody(parseByteSize(runtime.config.server.bodyLimit)));

  const info = createInfoHandlers(runtime);
  app.post('/v1/chat/completions', createGenerationHandler('chat', runtime));
  app.post('/v1/completions', createGenerationHandler('completions', runtime));
  app.post('/v1/embeddings', createEmbeddingsHandler(runtime));
  app.get('/v1/models', info.listModels);
  app.get('/v1/models/:model', info.getModel);
  app.get('/health', info.health);
  app.get('/ready', info.ready);
  app.get('/metrics', info.metrics);

  app.use((request: Request) => {
    throw new NotFoundError(`Unknown endpoint: ${request.method} ${request.path}`, { code: 'unknown_url' });
  });
  app.use((error: unknown, request: Request, response: Response, _next: NextFunction) => {
    const typed = toSwitchyardError(error);
    if (typed.status >= 500 && typed.status !== 503) options.onServerError?.(error, request);
    if (response.headersSent) {
      // A stream already started: the relay ends it itself; just make sure the socket is closed.
      if (!response.writableEnded) response.end();
      return;
    }
    if (typed.status === 499) {
      response.destroy();
      return;
    }
    const rendered = renderError(typed);
    response.status(rendered.status).set(rendered.headers).json(rendered.body);
  });
  return app;
}
