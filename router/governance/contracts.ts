// The types the request path exchanges with Governance: what admission gets, what it returns, what settle needs.
import type { Span } from '@opentelemetry/api';
import type { CachedAnswer } from './cache/response-cache.ts';
import type { GuardrailPolicy } from '../config/governance.ts';
import type { Reservation } from './budgets/contracts.ts';
import type { KeyRecord } from './keys/store.ts';
import type { TopicMatch } from './guardrails/topics.ts';
import type { SemanticCandidate } from './semantic-features.ts';

export type GovernedEndpoint = 'chat' | 'completions' | 'embeddings';

/** `x-switchyard-cache` response header values and the `result` label of the cache metric. */
export type CacheResult = 'hit' | 'semantic-hit' | 'miss' | 'bypass';

export interface AdmitContext {
  endpoint: GovernedEndpoint;
  /** The authenticated key (undefined with keys off). */
  key: KeyRecord | undefined;
  /** The raw JSON body (before the router's validation: prompt references are rendered first). */
  body: Record<string, unknown>;
  requestId: string;
  /** Value of the x-switchyard-cache request header. */
  cacheControl?: string | undefined;
  /** performance.now() at request arrival. */
  startedAt?: number;
  /** The request's W3C trace context: the governance span continues it. */
  trace?: { traceId: string; spanId: string; parentSpanId: string | undefined; flags: string };
  /** x-session-id (else the body's `user`): keeps a user on one prompt version under an A/B split. */
  stickyKey?: string | undefined;
}

export interface Admission {
  readonly endpoint: GovernedEndpoint;
  readonly requestId: string;
  readonly key: KeyRecord | undefined;
  /** The body to validate and send on (prompt rendered, max_tokens set/clamped, control characters removed). */
  readonly body: Record<string, unknown>;
  readonly model: string;
  readonly promptTokens: number;
  readonly maxTokens: number;
  readonly reservation: Reservation | undefined;
  readonly reservedUsd: number;
  readonly prompt: { name: string; version: string; hash: string } | undefined;
  readonly cache: { key: string | undefined; hit: CachedAnswer | undefined; result: CacheResult };
  readonly policy: GuardrailPolicy;
  readonly systemPrompt: string;
  readonly inputRules: readonly string[];
  /** The allowed-topics verdict, when the check ran. */
  readonly topic: (TopicMatch & { onTopic: boolean }) | undefined;
  /** A semantic-cache miss: what settle indexes once the answer is stored. */
  readonly semantic: SemanticCandidate | undefined;
  /** Headers to send with the response (cost is added at settle for non-streamed answers). */
  readonly headers: Record<string, string>;
  readonly startedAt: number;
  readonly wallStartedAt: number;
  readonly span: Span | undefined;
  done: boolean;
  outputRules: string[];
  priced?: Priced;
}

export interface Priced {
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  chargedNanos: number;
  kind: string;
}

export interface SettleOutcome {
  /** Upstream usage (OpenAI shape), when known. */
  usage?: Record<string, unknown> | undefined;
  /** Pool and backend that served the request; absent for cache hits. */
  served?: { pool: string; backendId: string } | undefined;
  status: number | string;
  /** Client-visible text, for a tiktoken count when the upstream sent no usage, and for body logging. */
  outputText?: string;
  /** Store this answer in the cache (the caller passes what the client saw). */
  cacheAnswer?: CachedAnswer | undefined;
}
