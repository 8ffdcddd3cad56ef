import type { PickerPlugin, SchedulingRequest, ScoredBackend } from '../../../contracts.ts';

/**
 * The baseline: ignores scores and cycles through the candidates in id order. One counter per model, so two
 * models' traffic does not interleave into a skew.
 */
export function createRoundRobinPicker(): PickerPlugin {
  const counters = new Map<string, number>();
  return {
    name: 'round-robin',
    pick(request: SchedulingRequest, scored: readonly ScoredBackend[]): ScoredBackend | undefined {
      if (scored.length === 0) return undefined;
      const ordered = [...scored].sort((a, b) => (a.backend.id < b.backend.id ? -1 : a.backend.id > b.backend.id ? 1 : 0));
      const turn = counters.get(request.model) ?? 0;
      counters.set(request.model, turn + 1);
      return ordered[turn % ordered.length];
    },
  };
}
