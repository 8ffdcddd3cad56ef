// The one time-to-first-token predictor: the predicted-ttft scorer ranks replicas with it (in prefill-token units),
// and the router's TTFT SLO check uses it in milliseconds (a vLLM pool's step-time model). Only the cost model
// differs, so the scorer and the spill-over decision can never disagree about which replica is slower.
import type { BackendState } from './contracts.ts';

/** Turns prefill work into time: tokens → cost, a running batch → extra cost per engine step. */
export interface TtftCostModel {
  /** Cost of prefilling this many prompt tokens (no step overheads). */
  prefill(tokens: number): number;
  /** Extra cost of one engine step while `running` sequences decode alongside. */
  stepOverhead(running: number): number;
  /** Prompt tokens per engine step (vLLM's max_num_batched_tokens with chunked prefill). */
  chunkTokens: number;
}

/**
 * Predicted TTFT on one replica for a prompt of `promptTokens` of which `uncachedTokens` must be prefilled there;
 * undefined for a backend without engine signals (hosted). The backlog ahead is the router's own count of admitted
 * prompt tokens not yet past their first token (no scrape lag); without it, each scraped waiting request is
 * guessed to cost a prompt like this one. Prefill runs in chunks, each chunk one engine step with its overhead.
 */
export function predictTtft(
  backend: BackendState,
  uncachedTokens: number,
  promptTokens: number,
  cost: TtftCostModel,
): number | undefined {
  if (backend.kind !== 'vllm') return undefined;
  const backlog = backend.pendingPrefillTokens ?? (backend.metrics?.requestsWaiting ?? 0) * promptTokens;
  const prefill = backlog + Math.max(1, uncachedTokens);
  const steps = Math.ceil(prefill / cost.chunkTokens);
  return cost.prefill(prefill) + steps * cost.stepOverhead(backend.metrics?.requestsRunning ?? 0);
}

/** Cost in prefill-token equivalents (the predicted-ttft scorer's units). */
export function tokenCostModel(options: {
  stepOverheadTokens: number;
  decodeTokensPerRunning: number;
  chunkTokens: number;
}): TtftCostModel {
  return {
    prefill: (tokens) => tokens,
    stepOverhead: (running) => options.stepOverheadTokens + options.decodeTokensPerRunning * running,
    chunkTokens: options.chunkTokens,
  };
}

/** The slice of models/step-time.ts's StepTimeModel a millisecond cost model needs. */
export interface StepTimes {
  prefillMs(tokens: number): number;
  decodeStepMs(batch: number, context: number): number;
}

/** vLLM's default chunked-prefill budget per engine step. */
export const DEFAULT_CHUNK_TOKENS = 8_192;
/** Context length assumed for each decoding sequence when pricing a step (the router does not know theirs). */
const ASSUMED_DECODE_CONTEXT = 512;

/** Cost in milliseconds from a pool's step-time model (the TTFT SLO check's units). */
export function millisecondCostModel(times: StepTimes, chunkTokens: number = DEFAULT_CHUNK_TOKENS): TtftCostModel {
  return {
    prefill: (tokens) => times.prefillMs(tokens),
    stepOverhead: (running) => (running > 0 ? times.decodeStepMs(running, ASSUMED_DECODE_CONTEXT) : 0),
    chunkTokens,
  };
}
