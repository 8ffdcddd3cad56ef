// The request log: one JSON line per request (pino), with ids, trace, route, backend, tokens and latency, written
// when the response closes. Governance, when on, writes its own richer line per request (router/governance), so this
// one is for the router without governance; `server.requestLog: false` turns it off.
import type { ServerResponse } from 'node:http';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { RequestContext } from '../routes/context.ts';

export type RequestLogWriter = (context: RequestContext, request: { method?: string | undefined; url?: string | undefined }, response: ServerResponse) => void;

export function createRequestLog(destination?: DestinationStream): RequestLogWriter {
  const logger: Logger = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime }, destination ?? pino.destination({ dest: 1, sync: false }));
  return (context, request, response) => {
    const usage = context.usage as { prompt_tokens?: unknown; completion_tokens?: unknown } | undefined;
    logger.info(
      {
        requestId: context.requestId,
        traceId: context.trace.traceId,
        spanId: context.trace.spanId,
        ...(context.trace.parentSpanId ? { parentSpanId: context.trace.parentSpanId } : {}),
        method: request.method,
        path: request.url,
        status: response.writableFinished ? (context.statusOverride ?? response.statusCode) : 'client_closed',
        model: context.model || undefined,
        route: context.routeReason,
        backend: context.backend,
        promptTokens: typeof usage?.prompt_tokens === 'number' ? usage.prompt_tokens : undefined,
        completionTokens: typeof usage?.completion_tokens === 'number' ? usage.completion_tokens : undefined,
        latencyMs: Math.round((performance.now() - context.startedAt) * 1000) / 1000,
      },
      'request',
    );
  };
}
