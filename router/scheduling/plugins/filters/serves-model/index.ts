import type { BackendState, FilterPlugin, SchedulingRequest } from '../../../contracts.ts';
import { keepWhere } from '../../normalize.ts';

const servesModel = (backend: BackendState, model: string): boolean => backend.models.includes(model);

export function createServesModelFilter(): FilterPlugin {
  return {
    name: 'serves-model',
    filter(request: SchedulingRequest, candidates: readonly BackendState[]): readonly BackendState[] {
      return keepWhere(candidates, servesModel, request.model);
    },
  };
}
