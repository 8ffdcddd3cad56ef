// The router's HTTP application: the request pipeline (routes/pipeline.ts) mounted on both paths, the OpenAI routes,
// and the single error handler that renders every failure as OpenAI error JSON (never an HTML page, never a crash).
// The two generation routes are served by the hot path (router/routes/hot-path.ts) straight from node:http; the
// Express app handles everything else and the same generation routes when they arrive in another shape.
import { Buffer } from 'node:buffer';
import type { ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { NotFoundError, renderError, toSwitchyardError } from '../core/errors.ts';
import { compilePassThroughChecks } from '../core/openai-schemas.ts';
import { createContextAttacher, requestIdOf } from './routes/context.ts';
import { parseByteSize } from './routes/json-body.ts';
import { createEmbeddingsHandler } from './routes/embeddings.ts';
import { withHotPath, type RequestListener } from './routes/hot-path.ts';
import {
  buildPipeline,
  type BodyCarrier,
  type FrontStage,
  type RequestPipeline,
  type StageObserver,
} from './routes/pipeline.ts';
import { createInfoHandlers } from './routes/info.ts';
import { createRouterGovernance, installGovernanceRoutes } from './governance/router-adapter.ts';
import type { RouterRuntime } from './runtime/runtime.ts';
import { BATCH_UPLOAD_PATH, mountBatchApi } from './batch/mount.ts';
import { mountRetrieval } from './rag/mount.ts';
import { mountChain } from './chain/mount.ts';
import { withRequestLog } from './routes/log-requests.ts';
import { createRequestLog } from './observability/request-log.ts';
import type { DestinationStream } from 'pino';

export interface AppOptions {
  /** Called with errors that rendered as 5xx (bugs and upstream failures), e.g. to log them. */
  onServerError?: (error: unknown) => void;
  /** Where the chain's and feedback's log lines go (default: stdout). */
  chainLogDestination?: DestinationStream;
  /** Where the request log goes (default stdout), when `server.requestLog` is on and governance is off. */
  requestLogDestination?: DestinationStream;
  /** Sees each pipeline stage as it starts, e.g. for a test's stage trace; never set in production. */
  stageObserver?: StageObserver;
}

export interface RouterApp {
  /** The node:http request listener: the hot path first, then Express. */
  listener: RequestListener;
  express: express.Express;
  /** The declared request pipeline both paths run. */
  pipeline: RequestPipeline;
}

/** Renders any failure as OpenAI error JSON on a node response (the one place errors become HTTP). */
export function sendError(error: unknown, response: ServerResponse, onServerError?: (error: unknown) => void): void {
  const typed = toSwitchyardError(error);
  if (typed.status >= 500 && typed.status !== 503) onServerError?.(error);
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
  const payload = JSON.stringify(rendered.body);
  const requestId = requestIdOf(response);
  response.writeHead(rendered.status, {
    ...(requestId === undefined ? {} : { 'x-request-id': requestId }),
    ...rendered.headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
  });
  response.end(payload);
}

export function createRouterApp(runtime: RouterRuntime, options: AppOptions = {}): RouterApp {
  compilePassThroughChecks();
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // One JSON line per request; with governance on, governance writes its own line instead.
  const requestLog =
    runtime.config.server.requestLog && !runtime.config.governance?.enabled
      ? createRequestLog(options.requestLogDestination)
      : undefined;
  const attachContext = createContextAttacher(runtime.metrics, requestLog);
  // Every POST body is read as JSON whatever its content type (curl's default is form-encoded), so a wrong type
  // produces a clear JSON error instead of an empty body. File uploads (multipart) are read by the Batch API itself.
  const bodyLimitBytes = parseByteSize(runtime.config.server.bodyLimit);
  // Governance (off by default): key auth on /v1/*, /admin, /dashboard; closed together with the runtime.
  const governance = createRouterGovernance(runtime.config.governance, runtime);
  if (governance) {
    const closeRuntime = runtime.close.bind(runtime);
    runtime.close = async () => {
      await governance.close();
      await closeRuntime();
    };
  }
  // Retrieval and the chain are built before the pipeline (their chat hooks are stages); their routes mount below.
  const retrieval = mountRetrieval(runtime.config.retrieval, runtime.config, { metrics: runtime.metrics.registry });
  runtime.planner.markEmbeddingModels(retrieval.embeddingNames, retrieval.embeddingModels[0]);
  const chain = mountChain(
    runtime,
    retrieval.chat,
    governance,
    options.chainLogDestination ? { logDestination: options.chainLogDestination } : {},
  );
  const pipeline = buildPipeline({
    runtime,
    attachContext,
    bodyLimitBytes,
    governance,
    retrieval: retrieval.chat,
    chain: chain.hook,
    rawBodyPaths: new Set([BATCH_UPLOAD_PATH]),
    around: (handler) => withRequestLog(handler, chain.requestLogging, governance !== undefined),
    observer: options.stageObserver,
  });
  for (const stage of pipeline.front) app.use(frontMiddleware(stage));
  installGovernanceRoutes(app, governance, runtime);

  // The Batch API (/v1/files, /v1/batches; router/batch), behind key auth; stopped with the runtime.
  const batch = mountBatchApi(runtime, runtime.config.batch);
  app.use(batch.router);
  const closeBeforeBatch = runtime.close.bind(runtime);
  runtime.close = async () => {
    await batch.close();
    await closeBeforeBatch();
  };

  // Retrieval (router/rag; off without a `retrieval` section): /v1/retrieve, /v1/rerank, /v1/embeddings for the local
  // model, and the chat `rag`/`few_shot` extensions. Models load in the background; stopped with the runtime.
  app.use(retrieval.router);
  const closeBeforeRetrieval = runtime.close.bind(runtime);
  runtime.close = async () => {
    await retrieval.close();
    await closeBeforeRetrieval();
  };

  // The verified chain, prompt rollout and feedback (router/chain): /v1/feedback, /admin/prompts*, the chat hook.
  app.use(chain.router);
  const closeBeforeChain = runtime.close.bind(runtime);
  runtime.close = async () => {
    await chain.close();
    await closeBeforeChain();
  };

  const info = createInfoHandlers(runtime, retrieval.embeddingModels, () => {
    const snapshots = retrieval.snapshots();
    return snapshots.length === 0 ? {} : { retrieval: { snapshots } };
  });
  for (const [path, handler] of pipeline.handlers) {
    app.post(path, (request: Request, response: Response) => handler(request, response, (request as BodyCarrier).body));
  }
  const embeddings = createEmbeddingsHandler(runtime);
  app.post('/v1/embeddings', (request: Request, response: Response) => embeddings(request, response, request.body));
  app.get('/v1/models', info.listModels);
  app.get('/v1/models/:model', info.getModel);
  app.get('/health', info.health);
  app.get('/ready', info.ready);
  app.get('/metrics', info.metrics);

  app.use((request: Request) => {
    throw new NotFoundError(`Unknown endpoint: ${request.method} ${request.path}`, { code: 'unknown_url' });
  });
  app.use((error: unknown, _request: Request, response: Response, _next: NextFunction) => {
    sendError(error, response, options.onServerError);
  });

  const listener = withHotPath(
    {
      front: pipeline.front,
      handlers: pipeline.handlers,
      sendError: (error, response) => sendError(error, response, options.onServerError),
    },
    app,
  );
  return { listener, express: app, pipeline };
}

/** A front stage as Express middleware: the same stage object the hot path runs. */
function frontMiddleware(stage: FrontStage) {
  return function runStage(request: Request, response: Response, next: NextFunction): void {
    stage.run(request, response, request.path, next);
  };
}
