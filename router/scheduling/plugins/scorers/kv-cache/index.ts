import type { BackendState, SchedulingRequest, ScorerPlugin } from '../../../contracts.ts';
import { UNKNOWN_SCORE, clamp01 } from '../../normalize.ts';

export function createKvCacheScorer(): ScorerPlugin {
  return {
    name: 'kv-cache',
    score(_request: SchedulingRequest, candidates: readonly BackendState[]): number[] {
      return candidates.map((backend) => (backend.metrics ? clamp01(1 - backend.metrics.kvCacheUsage) : UNKNOWN_SCORE));
    },
  };
}
