// Structured JSON request logs (pino). One line per request with request id, trace id, key id (never the key),
// model, backend, prompt version, tokens, cost, latency and status; bodies only when `logging.bodies` is on. The
// authorization header is redacted at the logger level in case anything ever logs headers.
import pino, { type DestinationStream, type Logger } from 'pino';
import type { Admission, SettleOutcome } from '../contracts.ts';

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
  cache?: 'hit' | 'miss' | 'bypass';
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
      ? { promptName: admission.prompt.name, promptVersion: admission.prompt.version, promptHash: admission.prompt.hash }
      : {}),
    promptTokens: numbers.promptTokens,
    completionTokens: numbers.completionTokens,
    costUsd: numbers.costUsd,
    cache: admission.cache.result,
    latencyMs: Math.round((performance.now() - admission.startedAt) * 1000) / 1000,
    status: outcome.status,
    ...(admission.inputRules.length + admission.outputRules.length > 0
      ? { guardrails: [...admission.inputRules, ...admission.outputRules] }
      : {}),
    ...(error ? { error } : {}),
    ...(includeBodies ? { requestBody: admission.body, responseText: outcome.outputText } : {}),
  };
}

export function createGovernanceLogger(options: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'switchyard-router' },
      redact: { paths: ['authorization', 'headers.authorization', '*.authorization', 'apiKey', 'key'], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}
