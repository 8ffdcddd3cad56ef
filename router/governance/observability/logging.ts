// Structured JSON request logs (pino). One line per request with request id, trace id, key id (never the key),
// model, backend, prompt version, tokens, cost, latency and status; bodies only when `logging.bodies` is on. The
// authorization header is redacted at the logger level in case anything ever logs headers.
import pino, { type DestinationStream, type Logger } from 'pino';

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
