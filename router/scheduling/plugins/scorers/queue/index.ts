import type { BackendState, SchedulingRequest, ScorerPlugin } from '../../../contracts.ts';
import { invertedMinMax } from '../../normalize.ts';

export function createQueueScorer(): ScorerPlugin {
  return {
    name: 'queue',
    score(_request: SchedulingRequest, candidates: readonly BackendState[]): number[] {
      return invertedMinMax(candidates.map((backend) => backend.metrics?.requestsWaiting));
    },
  };
}
