import type { PickerPlugin, SchedulingRequest, ScoredBackend } from '../../../contracts.ts';

const byId = (a: ScoredBackend, b: ScoredBackend): number =>
  a.backend.id < b.backend.id ? -1 : a.backend.id > b.backend.id ? 1 : 0;

/**
 * The baseline: ignores scores and cycles through the candidates in id order. One counter per model, so two
 * models' traffic does not interleave into a skew. `order` is the rotation starting at this turn: a backend the
 * caller cannot use (open breaker, over the SLO) passes the turn to the next one in the cycle.
 */
export function createRoundRobinPicker(): PickerPlugin {
  const counters = new Map<string, number>();
  const nextTurn = (model: string): number => {
    const turn = counters.get(model) ?? 0;
    counters.set(model, turn + 1);
    return turn;
  };
  return {
    name: 'round-robin',
    order(request: SchedulingRequest, scored: readonly ScoredBackend[]): ScoredBackend[] {
      if (scored.length === 0) return [];
      const ordered = [...scored].sort(byId);
      const start = nextTurn(request.model) % ordered.length;
      return start === 0 ? ordered : [...ordered.slice(start), ...ordered.slice(0, start)];
    },
    pick(request: SchedulingRequest, scored: readonly ScoredBackend[]): ScoredBackend | undefined {
      if (scored.length === 0) return undefined;
      const ordered = [...scored].sort(byId);
      return ordered[nextTurn(request.model) % ordered.length];
    },
  };
}
