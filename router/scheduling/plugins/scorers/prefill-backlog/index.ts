import type { BackendState, SchedulingRequest, ScorerPlugin } from '../../../contracts.ts';
import { invertedMinMax } from '../../normalize.ts';

export function createPrefillBacklogScorer(): ScorerPlugin {
  return {
    name: 'prefill-backlog',
    score(_request: SchedulingRequest, candidates: readonly BackendState[]): number[] {
      return invertedMinMax(candidates.map((backend) => backend.pendingPrefillTokens));
    },
  };
}
