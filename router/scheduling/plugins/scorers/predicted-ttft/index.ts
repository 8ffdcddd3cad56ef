// Predicted time to first token on each replica, in prefill-token units, scored as a ratio to the best replica
// (not min-max): a replica predicted twice as slow scores 0.5 however small or large the absolute gap is, so a few
// tokens of difference do not swing the whole [0,1] range and a few thousand do not get flattened by it.
import type { BackendState, SchedulingRequest, ScorerPlugin } from '../../../contracts.ts';
import { UNKNOWN_SCORE } from '../../normalize.ts';
import { predictTtft, tokenCostModel } from '../../../ttft-predictor.ts';
import type { PrefixBlockIndex } from '../prefix-affinity/index.ts';

export interface PredictedTtftOptions {
  /** Fixed cost of one engine step, in prefill-token equivalents (an H100 step of Llama 3.1 8B: ~8 ms ≈ 256 tokens). */
  stepOverheadTokens: number;
  /** Extra cost per running (decoding) sequence in each step, in prefill-token equivalents. */
  decodeTokensPerRunning: number;
  /** Prompt tokens prefilled per engine step (vLLM's max_num_batched_tokens with chunked prefill). */
  chunkTokens: number;
  blockTokens: number;
}

export interface PredictedTtftScorer extends ScorerPlugin {
  recordServed(request: SchedulingRequest, backendId: string): void;
}

/**
 * Predicted TTFT per candidate in prefill-token units (router/scheduling/ttft-predictor.ts); undefined for a backend
 * without engine signals (hosted). The uncached part of the prompt comes from the shared prefix index.
 */
export function predictedTtftTokens(
  request: SchedulingRequest,
  candidates: readonly BackendState[],
  index: PrefixBlockIndex,
  options: PredictedTtftOptions,
): Array<number | undefined> {
  const matched = index.matchAll(
    request.prefixBlockHashes,
    candidates.map((backend) => backend.id),
  );
  const cost = tokenCostModel(options);
  return candidates.map((backend, position) => {
    const cached = Math.min(request.promptTokens, (matched[position] ?? 0) * options.blockTokens);
    return predictTtft(backend, request.promptTokens - cached, request.promptTokens, cost);
  });
}

/** best / t_i: 1 for the fastest, proportionally less for slower ones; unknown → UNKNOWN_SCORE. */
export function ratioToBest(values: ReadonlyArray<number | undefined>): number[] {
  let best = Infinity;
  for (const value of values) if (value !== undefined && value > 0 && value < best) best = value;
  return values.map((value) =>
    value === undefined || !(value > 0) || best === Infinity ? UNKNOWN_SCORE : best / value,
  );
}

export function createPredictedTtftScorer(index: PrefixBlockIndex, options: PredictedTtftOptions): PredictedTtftScorer {
  return {
    name: 'predicted-ttft',
    score(request: SchedulingRequest, candidates: readonly BackendState[]): number[] {
      return ratioToBest(predictedTtftTokens(request, candidates, index, options));
    },
    recordServed(request, backendId) {
      index.record(request.prefixBlockHashes, backendId);
    },
  };
}
