import type { BackendState, SchedulingRequest, ScorerPlugin } from '../../../contracts.ts';
import { invertedMinMax } from '../../normalize.ts';

export function createCostScorer(): ScorerPlugin {
  return {
    name: 'cost',
    score(_request: SchedulingRequest, candidates: readonly BackendState[]): number[] {
      return invertedMinMax(candidates.map((backend) => backend.relativeCost));
    },
  };
}
