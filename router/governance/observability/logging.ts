// Structured JSON request logs (pino). One line per request with request id, trace id, key id (never the key),
// model, backend, prompt version, tokens, cost, latency and status; bodies only when `logging.bodies` is on. The
// authorization header is redacted at the logger level in case anything ever logs headers.
import { performance } from 'node:perf_hooks';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { Admission, CacheResult, SettleOutcome } from '../contracts.ts';

export interface RequestLogLine {
  requestId: string;
  traceId?: string;
  keyId?: string;
  team?: string;
  route: string;
  model: string;
  backend?: string;
  pool?: string;
  promptName?: string;
  promptVersion?: string;
  promptHash?: string;
  promptTokens?: number;
  completionTokens?: number;
  costUsd?: number;
  cache?: CacheResult;
  cacheSimilarity?: number;
  /** Allowed-topics verdict: closest allowed topic and its similarity. */
  topic?: string;
  topicSimilarity?: number;
  latencyMs: number;
  status: number | string;
  guardrails?: string[];
  error?: string;
  requestBody?: unknown;
  responseText?: string;
}

export interface RequestNumbers {
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

/** The one log line of a finished request. */
export function requestLogLine(
  admission: Admission,
  outcome: SettleOutcome,
  numbers: RequestNumbers,
  includeBodies: boolean,
  error?: string,
): RequestLogLine {
  const spanContext = admission.span?.spanContext();
  return {
    requestId: admission.requestId,
    ...(spanContext ? { traceId: spanContext.traceId } : {}),
    ...(admission.key ? { keyId: admission.key.id, team: admission.key.team } : {}),
    route: admission.endpoint,
    model: admission.model,
    ...(outcome.served ? { backend: outcome.served.backendId, pool: outcome.served.pool } : {}),
    ...(admission.prompt
      ? {
          promptName: admission.prompt.name,
          promptVersion: admission.prompt.version,
          promptHash: admission.prompt.hash,
        }
      : {}),
    promptTokens: numbers.promptTokens,
    completionTokens: numbers.completionTokens,
    costUsd: numbers.costUsd,
    cache: admission.cache.result,
    ...(admission.headers['x-switchyard-cache-similarity']
      ? { cacheSimilarity: Number(admission.headers['x-switchyard-cache-similarity']) }
      : {}),
    ...(admission.topic
      ? {
          ...(admission.topic.topic === undefined ? {} : { topic: admission.topic.topic }),
          topicSimilarity: Math.round(admission.topic.similarity * 1e4) / 1e4,
        }
      : {}),
    latencyMs: Math.round((performance.now() - admission.startedAt) * 1000) / 1000,
    status: outcome.status,
    ...(admission.inputRules.length + admission.outputRules.length > 0
      ? { guardrails: [...admission.inputRules, ...admission.outputRules] }
      : {}),
    ...(error ? { error } : {}),
    ...(includeBodies ? { requestBody: admission.body, responseText: outcome.outputText } : {}),
  };
}

const REDACT = {
  paths: ['authorization', 'headers.authorization', '*.authorization', 'apiKey', 'key'],
  censor: '[redacted]',
};

export function createGovernanceLogger(options: { level: string; destination?: DestinationStream }): Logger {
  return createGovernanceLoggers(options).logger;
}

/**
 * The governance logger (redacting) and a sibling for the per-request line on the same destination without the
 * redaction pass: that line is built from known fields only (none of them a redacted path), so redaction cannot change
 * it, and it costs about half of the line. With `logging.bodies` on the line carries the request body: use `logger`.
 */
export function createGovernanceLoggers(options: { level: string; destination?: DestinationStream }): {
  logger: Logger;
  requestLogger: Logger;
} {
  const destination = options.destination ?? bufferedStdout();
  const settings = { level: options.level, base: { service: 'switchyard-router' }, timestamp: isoTime };
  return { logger: pino({ ...settings, redact: REDACT }, destination), requestLogger: pino(settings, destination) };
}

let isoSecond = Number.NaN;
let isoPrefix = '';

/** pino's `isoTime` output (`,"time":"2026-11-27T10:00:00.123Z"`) with the date formatted once per second, not per line. */
export function isoTime(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = `,"time":"${new Date(second * 1000).toISOString().slice(0, -4)}`;
  }
  const millis = now - second * 1000;
  return `${isoPrefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z"`;
}

/** How long a log line may wait in the buffer at low traffic. */
const LOG_FLUSH_MS = 1_000;

/**
 * stdout through sonic-boom, buffered: one write per 4 KB of lines instead of one per line (the per-line write was the
 * largest single cost of the governance chain per request), flushed at least every second and on exit by pino. The
 * full buffer is written synchronously: in sonic-boom's asynchronous mode one write of at most 16 KiB is in flight and
 * completes between event-loop turns, so a saturated router logs faster than that drains and the backlog grows without
 * bound (router/observability/request-log.ts; benchmarks/RESULTS.md). A SIGKILL can lose the last buffer (at most one
 * second or 4 KB of lines).
 */
function bufferedStdout(): DestinationStream {
  const destination = pino.destination({ dest: 1, sync: true, minLength: 4096 });
  const timer = setInterval(() => {
    try {
      destination.flush();
    } catch {
      // Not open yet, or closed: nothing to flush.
    }
  }, LOG_FLUSH_MS);
  timer.unref();
  destination.once('close', () => clearInterval(timer));
  return destination;
}
