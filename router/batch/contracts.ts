// Types-only contracts between the Batch API and the rest of the router. The batch code depends only on these narrow
// interfaces, so it runs on its own Express app in tests (against simulator replicas) and inside the router through
// the adapters in adapters.ts.

/** The three endpoints a batch may target (the `url` of every input line, and the batch's `endpoint`). */
export type BatchEndpoint = '/v1/chat/completions' | '/v1/completions' | '/v1/embeddings';

export interface BatchDispatchOptions {
  /** Always 'batch': lower than any interactive request. */
  priority: 'batch';
  /** Aborted on cancel, expiry, preemption or shutdown. */
  signal: AbortSignal;
  /** May the request leave the self-hosted pools for a hosted API (only when the batch allows it and is at risk)? */
  allowHosted: boolean;
  /** Idempotency / tracing id of this attempt. */
  requestId: string;
}

/** A final answer for one batch line: a 2xx body, or a non-retryable error body (e.g. upstream 400). */
export interface BatchDispatchResult {
  status: number;
  body: unknown;
  /** The backend that answered, when known. */
  backendId?: string;
  /** True when a hosted API answered (spill-over). */
  hosted?: boolean;
  /** GPU-seconds attributed to this request (its share of the backend's busy time), when self-hosted. */
  gpuSeconds?: number;
  /** Dollar cost attributed to this request (GPU-seconds share × $/GPU-hour, or hosted token price). */
  costUsd?: number;
}

/**
 * Sends one batch request. Resolves with the final answer (2xx or a caller's 4xx); throws for transient failures —
 * an error with `retryable: true` (and optionally `retryAfterMs`) is retried by the scheduler, anything else fails
 * the line with the error's `status`/`message`.
 */
export interface BatchDispatcher {
  dispatch(
    endpoint: BatchEndpoint,
    body: Readonly<Record<string, unknown>>,
    options: BatchDispatchOptions,
  ): Promise<BatchDispatchResult>;
}

/** Interactive load on the self-hosted pool that serves `model` (aggregated over its replicas). */
export interface LoadSnapshot {
  /** KV-cache usage in [0,1] (mean over live replicas). */
  kvUsage: number;
  /** Requests queued at the engines (sum over replicas). */
  waiting: number;
  /** Interactive (non-batch) requests in flight to the pool. */
  interactiveInFlight: number;
}

export interface PoolLoad {
  /** null when no self-hosted pool serves the model (its requests then fail fast at dispatch). */
  headroom(model: string): LoadSnapshot | null | Promise<LoadSnapshot | null>;
}

/** Milliseconds since the epoch; injected so expiry is tested with a virtual clock. */
export type Clock = () => number;
