// The hot path: POST /v1/chat/completions and /v1/completions served straight from node:http, without Express's
// router (whose layer walk, prototype swaps and per-request closures cost ~100–190 µs of CPU per request here, as
// much as the rest of the router's own work). It runs the pipeline's front stages (routes/pipeline.ts: context, body,
// auth) — the same objects Express mounts as middleware — then the route's generation handler, and renders errors
// with the one error renderer. Every other request goes to Express.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GenerationHandler } from './generation.ts';
import type { BodyCarrier, FrontStage } from './pipeline.ts';

export type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

export interface HotPathOptions {
  front: readonly FrontStage[];
  handlers: ReadonlyMap<string, GenerationHandler>;
  sendError: (error: unknown, response: ServerResponse) => void;
}

/** A listener that serves the hot routes itself and hands everything else to `fallback` (the Express app). */
export function withHotPath(options: HotPathOptions, fallback: RequestListener): RequestListener {
  const { front, handlers, sendError } = options;
  return function route(request, response) {
    const path = request.url ?? '';
    // Exact paths only: a query string, a trailing slash or any other method takes the general (Express) path.
    const handler = request.method === 'POST' ? handlers.get(path) : undefined;
    if (!handler) {
      fallback(request, response);
      return;
    }
    let index = 0;
    const next = (error?: unknown): void => {
      if (error !== undefined) {
        sendError(error, response);
        return;
      }
      const stage = front[index++];
      if (stage === undefined) {
        handler(request, response, (request as BodyCarrier).body).catch((handlerError: unknown) =>
          sendError(handlerError, response),
        );
        return;
      }
      try {
        stage.run(request, response, path, next);
      } catch (stageError) {
        sendError(stageError, response);
      }
    };
    next();
  };
}
