// Prefill work a new request would wait for on each replica, in tokens: the backlog of prompt tokens already queued
// there (router-side, no lag) plus its own prompt minus the prefix that replica probably has cached. One unit for
// both load and affinity, so neither needs a hand-set exchange rate against the other.
import type { BackendState, SchedulingRequest, ScorerPlugin } from '../../../contracts.ts';
import { invertedMinMax } from '../../normalize.ts';
import type { PrefixBlockIndex } from '../prefix-affinity/index.ts';

export interface PrefillWorkScorer extends ScorerPlugin {
  recordServed(request: SchedulingRequest, backendId: string): void;
}

/** Prefill tokens ahead of (and including) this request on each candidate. */
export function prefillWorkTokens(
  request: SchedulingRequest,
  candidates: readonly BackendState[],
  index: PrefixBlockIndex,
  blockTokens: number,
): number[] {
  const matched = index.matchAll(
    request.prefixBlockHashes,
    candidates.map((backend) => backend.id),
  );
  return candidates.map((backend, position) => {
    const cached = Math.min(request.promptTokens, (matched[position] ?? 0) * blockTokens);
    return (backend.pendingPrefillTokens ?? 0) + request.promptTokens - cached;
  });
}

export function createPrefillWorkScorer(index: PrefixBlockIndex, blockTokens: number): PrefillWorkScorer {
  return {
    name: 'prefill-work',
    score(request: SchedulingRequest, candidates: readonly BackendState[]): number[] {
      return invertedMinMax(prefillWorkTokens(request, candidates, index, blockTokens));
    },
    recordServed(request, backendId) {
      index.record(request.prefixBlockHashes, backendId);
    },
  };
}
