// The hot path: POST /v1/chat/completions and /v1/completions served straight from node:http, without Express's
// router (whose layer walk, prototype swaps and per-request closures cost ~100–190 µs of CPU per request here, as
// much as the rest of the router's own work). It runs exactly the steps the Express stack runs for these routes —
// request context, JSON body with the size limit, key authentication, the generation handler, the one error renderer —
// so both paths answer identically (router/routes/hot-path.test.ts checks that). Every other request goes to Express.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ContextAttacher } from './context.ts';
import type { GenerationHandler } from './generation.ts';
import { readJsonBody } from './json-body.ts';

export type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

export interface HotPathOptions {
  attachContext: ContextAttacher;
  bodyLimitBytes: number;
  /** Key authentication (throws 401/403), when governance is on. */
  authenticate?: (path: string, request: IncomingMessage, response: ServerResponse) => void;
  handlers: ReadonlyMap<string, GenerationHandler>;
  sendError: (error: unknown, response: ServerResponse) => void;
}

/** A listener that serves the hot routes itself and hands everything else to `fallback` (the Express app). */
export function withHotPath(options: HotPathOptions, fallback: RequestListener): RequestListener {
  const { attachContext, bodyLimitBytes, authenticate, handlers, sendError } = options;
  return function route(request, response) {
    const path = request.url ?? '';
    // Exact paths only: a query string, a trailing slash or any other method takes the general (Express) path.
    const handler = request.method === 'POST' ? handlers.get(path) : undefined;
    if (!handler) {
      fallback(request, response);
      return;
    }
    attachContext(request, response, path, false);
    readJsonBody(request, response, bodyLimitBytes, (error, body) => {
      if (error) {
        sendError(error, response);
        return;
      }
      try {
        authenticate?.(path, request, response);
      } catch (authError) {
        sendError(authError, response);
        return;
      }
      handler(request, response, body).catch((handlerError: unknown) => sendError(handlerError, response));
    });
  };
}
