// The request log: one JSON line per request, with ids, trace, route, backend, tokens and latency, written when the
// response closes. Governance, when on, writes its own richer line per request (router/governance), so this one is
// for the router without governance; `server.requestLog: false` turns it off.
//
// The line has pino's shape (`level`, `time`, `msg`), so a pipeline that reads the router's other logs reads it too,
// but it is built by hand: its fields are fixed, most of them are ids that need no escaping, and pino's generic
// serialiser (a key walk and a stringify per value, on a fresh object per request) cost more per request than the
// router's scheduling did.
import { performance } from 'node:perf_hooks';
import type { ServerResponse } from 'node:http';
import pino from 'pino';
import type { TraceContext } from './trace-context.ts';

/** What the log line reads from a request's context (router/routes/context.ts's RequestContext has these fields). */
export interface LoggedRequest {
  /** Written without escaping: router/routes/context.ts admits only ids of `[\w.:-]` (or makes a UUID). */
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

/** Where the lines go: stdout in production, any writable in tests. */
export interface LineDestination {
  write(line: string): unknown;
}

/** Bytes of log lines gathered before one write; a line waits at most FLUSH_MS when traffic is light. */
const BATCH_BYTES = 4096;
const FLUSH_MS = 250;

/**
 * stdout gets the lines in batches: a write per line is a syscall (or a thread-pool round trip) per request, a batch
 * of ~10 lines is one. The batch is gathered here (sonic-boom's own `minLength` buffering re-measures its whole buffer
 * in bytes on every line) and written synchronously once it is full: in sonic-boom's asynchronous mode only one write
 * of at most 16 KiB is in flight, and it completes between event-loop turns, so a saturated router logs faster than
 * that drains and the backlog grows without bound (measured: RSS 250 → 420–680 MB in 60 s at 256 connections). Lines
 * still waiting are written by the timer below or when the process exits. sonic-boom stays underneath for what a
 * synchronous write to a pipe needs (partial writes, EAGAIN retries).
 */
let stdout: LineDestination | undefined;

function batchedStdout(): LineDestination {
  // One per process (stdout is one file descriptor), shared by every router in it.
  if (stdout) return stdout;
  const destination = pino.destination({ dest: 1, sync: true });
  let batch = '';
  const flush = (): void => {
    if (batch === '') return;
    // write() throws while the destination is still opening (before 'ready'); the batch waits for the next flush.
    try {
      destination.write(batch);
      batch = '';
    } catch {
      // not ready yet
    }
  };
  // An idle router has nothing batched and writes nothing.
  setInterval(flush, FLUSH_MS).unref();
  process.once('exit', () => {
    try {
      flush();
      destination.flushSync();
    } catch {
      // stdout already closed
    }
  });
  stdout = {
    write(line: string): void {
      batch += line;
      // Characters, not bytes: the lines are ASCII but for model names and paths, and the limit is only a batch size.
      if (batch.length >= BATCH_BYTES) flush();
    },
  };
  return stdout;
}

/** JSON text of a string, memoised for the few values a router repeats (models, routes, backends, paths). */
function quotedCache(limit = 256): (value: string) => string {
  const cache = new Map<string, string>();
  return (value) => {
    let quoted = cache.get(value);
    if (quoted === undefined) {
      quoted = JSON.stringify(value);
      if (cache.size < limit) cache.set(value, quoted);
    }
    return quoted;
  };
}

/**
 * ISO time of the current millisecond, reused by every line written within it. Date's toISOString costs thousands of
 * instructions (a printf-style formatter): it runs once per second for the part up to the seconds, and the
 * milliseconds are appended by hand.
 */
export function isoNow(clock: () => number = Date.now): () => string {
  let at = Number.NaN;
  let text = '';
  let second = Number.NaN;
  /** `YYYY-MM-DDTHH:MM:SS.` of `second`. */
  let prefix = '';
  return () => {
    const now = clock();
    if (now === at) return text;
    at = now;
    const millisecond = ((now % 1000) + 1000) % 1000;
    const thisSecond = now - millisecond;
    if (thisSecond !== second) {
      second = thisSecond;
      prefix = new Date(thisSecond).toISOString().slice(0, -4);
    }
    text = `${prefix}${millisecond < 10 ? '00' : millisecond < 100 ? '0' : ''}${millisecond}Z`;
    return text;
  };
}

export function createRequestLog(destination: LineDestination = batchedStdout()): RequestLogWriter {
  const quoted = quotedCache();
  const time = isoNow();
  return (context, request, response) => {
    const usage = context.usage as { prompt_tokens?: unknown; completion_tokens?: unknown } | undefined;
    const { trace } = context;
    const status = response.writableFinished ? (context.statusOverride ?? response.statusCode) : 'client_closed';
    let line =
      `{"level":30,"time":"${time()}","requestId":"${context.requestId}","traceId":"${trace.traceId}",` +
      `"spanId":"${trace.spanId}"`;
    if (trace.parentSpanId) line += `,"parentSpanId":"${trace.parentSpanId}"`;
    if (request.method !== undefined) line += `,"method":${quoted(request.method)}`;
    if (request.url !== undefined) line += `,"path":${quoted(request.url)}`;
    line += `,"status":${typeof status === 'number' ? status : quoted(status)}`;
    if (context.model) line += `,"model":${quoted(context.model)}`;
    line += `,"route":${quoted(context.routeReason)}`;
    if (context.backend !== undefined) line += `,"backend":${quoted(context.backend)}`;
    if (typeof usage?.prompt_tokens === 'number') line += `,"promptTokens":${usage.prompt_tokens}`;
    if (typeof usage?.completion_tokens === 'number') line += `,"completionTokens":${usage.completion_tokens}`;
    const latencyMs = Math.round((performance.now() - context.startedAt) * 1000) / 1000;
    destination.write(`${line},"latencyMs":${latencyMs},"msg":"request"}\n`);
  };
}
