import type { BackendState, FilterPlugin, SchedulingRequest } from '../../../contracts.ts';

export function createCircuitClosedFilter(): FilterPlugin {
  return {
    name: 'circuit-closed',
    filter(_request: SchedulingRequest, candidates: readonly BackendState[]): BackendState[] {
      // Half-open passes: it is how the probe request reaches the backend (the breaker admits a bounded number).
      return candidates.filter((backend) => backend.circuit !== 'open');
    },
  };
}
