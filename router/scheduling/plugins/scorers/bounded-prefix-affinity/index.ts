// Prefix affinity only up to a load margin (llm-d's "prefix-aware with load balancing" idea): a replica that
// probably holds the prompt's prefix keeps its affinity score only while its predicted time to first token is within
// `maxTtftRatio` of the fastest candidate's. Past that, the cache hit it offers costs more waiting than it saves,
// and a popular prefix would otherwise keep dragging requests onto a replica busy with a long prefill.
import type { BackendState, SchedulingRequest, ScorerPlugin } from '../../../contracts.ts';
import type { PrefixBlockIndex } from '../prefix-affinity/index.ts';
import { predictedTtftTokens } from '../predicted-ttft/index.ts';
import type { PredictedTtftOptions } from '../predicted-ttft/index.ts';

export interface BoundedPrefixAffinityOptions extends PredictedTtftOptions {
  /** Affinity counts only on candidates predicted at most this many times slower than the fastest. */
  maxTtftRatio: number;
}

export interface BoundedPrefixAffinityScorer extends ScorerPlugin {
  recordServed(request: SchedulingRequest, backendId: string): void;
}

export function createBoundedPrefixAffinityScorer(
  index: PrefixBlockIndex,
  options: BoundedPrefixAffinityOptions,
): BoundedPrefixAffinityScorer {
  return {
    name: 'bounded-prefix-affinity',
    score(request: SchedulingRequest, candidates: readonly BackendState[]): number[] {
      const blocks = request.prefixBlockHashes.length;
      if (blocks === 0) return candidates.map(() => 0);
      const matched = index.matchAll(
        request.prefixBlockHashes,
        candidates.map((backend) => backend.id),
      );
      const predicted = predictedTtftTokens(request, candidates, index, options);
      let fastest = Infinity;
      for (const value of predicted) if (value !== undefined && value < fastest) fastest = value;
      return candidates.map((_, position) => {
        const value = predicted[position];
        // Unknown load (hosted): plain affinity, as the prefix-affinity scorer would give.
        const withinMargin = value === undefined || value <= options.maxTtftRatio * fastest;
        return withinMargin ? (matched[position] ?? 0) / blocks : 0;
      });
    },
    recordServed(request, backendId) {
      index.record(request.prefixBlockHashes, backendId);
    },
  };
}
