// The request log: one JSON line per request (pino), with ids, trace, route, backend, tokens and latency, written
// when the response closes. Governance, when on, writes its own richer line per request (router/governance), so this
// one is for the router without governance; `server.requestLog: false` turns it off.
import type { ServerResponse } from 'node:http';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { TraceContext } from './trace-context.ts';

/** What the log line reads from a request's context (router/routes/context.ts's RequestContext has these fields). */
export interface LoggedRequest {
  readonly requestId: string;
  readonly startedAt: number;
  readonly trace: TraceContext;
  readonly model: string;
  readonly routeReason: string;
  readonly statusOverride?: string | undefined;
  readonly usage?: unknown;
  readonly backend?: string | undefined;
}

export type RequestLogWriter = (
  context: LoggedRequest,
  request: { method?: string | undefined; url?: string | undefined },
  response: ServerResponse,
) => void;

/** Bytes of log lines gathered before one write; a line waits at most FLUSH_MS when traffic is light. */
const BATCH_BYTES = 4096;
const FLUSH_MS = 250;

/**
 * stdout gets the lines in batches: a write per line is a syscall (or a thread-pool round trip) per request, a batch
 * of ~10 lines is one. The batch is written synchronously once it is full: in sonic-boom's asynchronous mode only one
 * write of at most 16 KiB is in flight, and it completes between event-loop turns, so a saturated router logs faster
 * than that drains and the backlog grows without bound (measured: RSS 250 → 420–680 MB in 60 s at 256 connections). Lines still
 * waiting are written by the timer below or when the process exits.
 */
let stdout: DestinationStream | undefined;

function batchedStdout(): DestinationStream {
  // One per process (stdout is one file descriptor), shared by every router in it.
  if (stdout) return stdout;
  const destination = pino.destination({ dest: 1, sync: true, minLength: BATCH_BYTES });
  setInterval(() => {
    // flush() throws while the destination is still opening (before 'ready'); the next tick writes them.
    try {
      destination.flush();
    } catch {
      // not ready yet
    }
  }, FLUSH_MS).unref();
  process.once('exit', () => {
    try {
      destination.flushSync();
    } catch {
      // stdout already closed
    }
  });
  stdout = destination;
  return destination;
}

export function createRequestLog(destination?: DestinationStream): RequestLogWriter {
  const logger: Logger = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime }, destination ?? batchedStdout());
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
