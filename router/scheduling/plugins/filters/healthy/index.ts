import type { BackendState, FilterPlugin, SchedulingRequest } from '../../../contracts.ts';
import { keepWhere } from '../../normalize.ts';

const isHealthy = (backend: BackendState): boolean => backend.healthy;

export function createHealthyFilter(): FilterPlugin {
  return {
    name: 'healthy',
    filter(_request: SchedulingRequest, candidates: readonly BackendState[]): readonly BackendState[] {
      return keepWhere(candidates, isHealthy, undefined);
    },
  };
}
