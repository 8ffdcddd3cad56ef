import type { BackendState, FilterPlugin, SchedulingRequest } from '../../../contracts.ts';

export function createHealthyFilter(): FilterPlugin {
  return {
    name: 'healthy',
    filter(_request: SchedulingRequest, candidates: readonly BackendState[]): BackendState[] {
      return candidates.filter((backend) => backend.healthy);
    },
  };
}
