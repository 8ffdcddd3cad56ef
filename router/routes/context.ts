// Per-request context: the request id (an incoming x-request-id is honoured), when the request arrived (the start of
// the router's overhead clock), and what the route decided, for the metrics line written when the response finishes.
// Kept on the node response under a module-private symbol, so the Express routes and the hot path
// (router/routes/hot-path.ts) share it without depending on Express's `response.locals`; not in a WeakMap, whose
// ephemeron entries every scavenge has to revisit. Attached by the pipeline's `context` stage.
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { labelCache, type RouterMetrics } from '../observability/metrics.ts';
import { continueTrace, type TraceContext } from '../observability/trace-context.ts';
import type { RequestLogWriter } from '../observability/request-log.ts';
import type { StreamedAnswer } from '../streaming/relay.ts';

export interface RequestContext {
  requestId: string;
  startedAt: number;
  endpoint: string;
  routeReason: string;
  /** Router model name once the route is known ('' before: client-sent names never become labels). */
  model: string;
  /** The request asked for a stream (set when its body is validated), for the duration histogram's `stream` label. */
  stream?: boolean;
  /** Set when a 200 stream ended badly, so metrics do not count it as a plain success. */
  statusOverride?: string;
  /** W3C trace context: the caller's trace continued, or a new one. */
  trace: TraceContext;
  /** The answer's usage and the backend that gave it, for the request log. */
  usage?: unknown;
  backend?: string;
  /** A streamed plain answer's id and client-visible text (the relay's own buffer), for the request log. */
  streamedAnswer?: StreamedAnswer;
  /** The JSON answer as sent (a non-streamed request), for the request log's bodies. */
  answer?: Record<string, unknown>;
}

/** Only these paths become metric labels (a client must not be able to mint label values). */
const COUNTED_ENDPOINTS = new Set(['/v1/chat/completions', '/v1/completions', '/v1/embeddings']);
const REQUEST_ID = /^[\w.:-]{1,128}$/;
const CONTEXT = Symbol('switchyard.requestContext');
type ContextCarrier = ServerResponse & { [CONTEXT]?: RequestContext };

export function requestContext(response: ServerResponse): RequestContext {
  const context = (response as ContextCarrier)[CONTEXT];
  if (!context) throw new Error('request context missing: attachRequestContext runs first');
  return context;
}

/** x-request-id of the response's request, for writers that put it in their writeHead (see the attacher). */
export function requestIdOf(response: ServerResponse): string | undefined {
  return (response as ContextCarrier)[CONTEXT]?.requestId;
}

/**
 * `setHeader: false` (the hot path) leaves x-request-id to the writers, which put it in their writeHead: a header
 * set before writeHead sends every later one through setHeader's slower merge. The writers on the hot path are the
 * generation route (routeHeaders), the SSE relay (the same headers), app.ts sendError and governance's cache hits.
 */
export type ContextAttacher = (
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
  setHeader?: boolean,
) => RequestContext;

/** Creates the request's context, sets x-request-id and counts the request when its response closes. */
export function createContextAttacher(metrics: RouterMetrics, requestLog?: RequestLogWriter): ContextAttacher {
  const requestCounter = labelCache((endpoint, model, routeReason, status) =>
    metrics.requests.labels({ endpoint, model, route_reason: routeReason, status }),
  );
  const durationHistogram = labelCache((endpoint, routeReason, stream) =>
    metrics.requestDuration.labels({ endpoint, route_reason: routeReason, stream }),
  );
  return function attachRequestContext(request, response, path, setHeader = true) {
    const incoming = request.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const context: RequestContext = {
      requestId,
      startedAt: performance.now(),
      endpoint: COUNTED_ENDPOINTS.has(path) ? path : '',
      model: '',
      routeReason: 'none',
      trace: continueTrace(request.headers['traceparent']),
    };
    (response as ContextCarrier)[CONTEXT] = context;
    if (setHeader) response.setHeader('x-request-id', requestId);
    // 'close' fires for finished and abandoned responses alike, so client disconnects are counted too.
    // Express routers rewrite request.url under a mount point: the path is taken as it arrived.
    const arrived = requestLog ? { method: request.method, url: request.url } : undefined;
    // `on`, not `once`: a response closes once, and once's wrapper is two more objects per request.
    response.on('close', () => {
      if (arrived) requestLog!(context, arrived, response);
      if (context.endpoint === '') return;
      const status = response.writableFinished
        ? (context.statusOverride ?? String(response.statusCode))
        : 'client_closed';
      requestCounter(context.endpoint, context.model, context.routeReason, status).inc();
      // Writers on the hot path hand their headers to writeHead, where getHeader cannot see them: the context says.
      const stream = String(
        context.stream ?? response.getHeader('content-type')?.toString().startsWith('text/event-stream') ?? false,
      );
      durationHistogram(context.endpoint, context.routeReason, stream).observe(
        (performance.now() - context.startedAt) / 1000,
      );
    });
    return context;
  };
}
