// Per-request context kept in `response.locals`: the request id (an incoming x-request-id is honoured), when the
// request arrived (the start of the router's overhead clock), and what the route decided, for the metrics line
// written when the response finishes.
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { labelCache, type RouterMetrics } from '../metrics.ts';

export interface RequestContext {
  requestId: string;
  startedAt: number;
  endpoint: string;
  routeReason: string;
  /** Router model name once the route is known ('' before: client-sent names never become labels). */
  model: string;
  /** Set when a 200 stream ended badly, so metrics do not count it as a plain success. */
  statusOverride?: string;
}

const CONTEXT_KEY = 'switchyardContext';
/** Only these paths become metric labels (a client must not be able to mint label values). */
const COUNTED_ENDPOINTS = new Set(['/v1/chat/completions', '/v1/completions', '/v1/embeddings']);
const REQUEST_ID = /^[\w.:-]{1,128}$/;

export function requestContext(response: Response): RequestContext {
  return response.locals[CONTEXT_KEY] as RequestContext;
}

export function contextMiddleware(metrics: RouterMetrics) {
  const requestCounter = labelCache((endpoint, model, routeReason, status) =>
    metrics.requests.labels({ endpoint, model, route_reason: routeReason, status }),
  );
  const durationHistogram = labelCache((endpoint, routeReason, stream) =>
    metrics.requestDuration.labels({ endpoint, route_reason: routeReason, stream }),
  );
  return function attachContext(request: Request, response: Response, next: NextFunction): void {
    const incoming = request.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const context: RequestContext = {
      requestId,
      startedAt: performance.now(),
      endpoint: COUNTED_ENDPOINTS.has(request.path) ? request.path : '',
      model: '',
      routeReason: 'none',
    };
    response.locals[CONTEXT_KEY] = context;
    response.setHeader('x-request-id', requestId);
    // 'close' fires for finished and abandoned responses alike, so client disconnects are counted too.
    response.once('close', () => {
      if (context.endpoint === '') return;
      const status = response.writableFinished
        ? (context.statusOverride ?? String(response.statusCode))
        : 'client_closed';
      requestCounter(context.endpoint, context.model, context.routeReason, status).inc();
      const stream = String(response.getHeader('content-type')?.toString().startsWith('text/event-stream') ?? false);
      durationHistogram(context.endpoint, context.routeReason, stream).observe(
        (performance.now() - context.startedAt) / 1000,
      );
    });
    next();
  };
}
