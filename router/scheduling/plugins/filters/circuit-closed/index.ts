import type { BackendState, FilterPlugin, SchedulingRequest } from '../../../contracts.ts';
import { keepWhere } from '../../normalize.ts';

const notOpen = (backend: BackendState): boolean => backend.circuit !== 'open';

export function createCircuitClosedFilter(): FilterPlugin {
  return {
    name: 'circuit-closed',
    filter(_request: SchedulingRequest, candidates: readonly BackendState[]): readonly BackendState[] {
      // Half-open passes: it is how the probe request reaches the backend (the breaker admits a bounded number).
      return keepWhere(candidates, notOpen, undefined);
    },
  };
}
