import type { BackendState, FilterPlugin, SchedulingRequest } from '../../../contracts.ts';

export function createServesModelFilter(): FilterPlugin {
  return {
    name: 'serves-model',
    filter(request: SchedulingRequest, candidates: readonly BackendState[]): BackendState[] {
      return candidates.filter((backend) => backend.models.includes(request.model));
    },
  };
}
