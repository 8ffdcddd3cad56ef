import type { BackendState, SchedulingRequest, ScorerPlugin } from '../../../contracts.ts';
import { invertedMinMax } from '../../normalize.ts';

export type InFlightMode = 'requests' | 'tokens' | 'both';

export function createInFlightScorer(mode: InFlightMode): ScorerPlugin {
  return {
    name: 'in-flight',
    score(_request: SchedulingRequest, candidates: readonly BackendState[]): number[] {
      const byRequests = mode === 'tokens' ? undefined : invertedMinMax(candidates.map((b) => b.inFlightRequests));
      const byTokens = mode === 'requests' ? undefined : invertedMinMax(candidates.map((b) => b.inFlightTokens));
      if (!byTokens) return byRequests ?? [];
      if (!byRequests) return byTokens;
      return byRequests.map((score, index) => (score + (byTokens[index] ?? score)) / 2);
    },
  };
}
