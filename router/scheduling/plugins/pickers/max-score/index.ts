import type { PickerPlugin, SchedulingRequest, ScoredBackend } from '../../../contracts.ts';

/** Scores closer than this are a tie (float noise from weighted sums). */
export const TIE_EPSILON = 1e-9;

/**
 * Highest score first. Ties go to fewer router-side in-flight requests, then at random (injected source), as the
 * Gateway API inference extension's picker does: equal idle replicas share the load instead of the alphabetically
 * first one taking everything.
 */
export function createMaxScorePicker(options: { random: () => number }): PickerPlugin {
  const order = (_request: SchedulingRequest, scored: readonly ScoredBackend[]): ScoredBackend[] => {
    if (scored.length <= 1) return [...scored];
    const keys = new Map<ScoredBackend, number>();
    for (const candidate of scored) keys.set(candidate, options.random());
    return [...scored].sort((a, b) => {
      const difference = b.score - a.score;
      if (difference > TIE_EPSILON || difference < -TIE_EPSILON) return difference;
      const inFlight = a.backend.inFlightRequests - b.backend.inFlightRequests;
      return inFlight !== 0 ? inFlight : keys.get(a)! - keys.get(b)!;
    });
  };
  return {
    name: 'max-score',
    order,
    pick(request, scored) {
      if (scored.length <= 1) return scored[0];
      // One pass for the common call: the best, ties broken by in-flight then by reservoir sampling.
      let best: ScoredBackend | undefined;
      let ties = 0;
      for (const candidate of scored) {
        if (!best) {
          best = candidate;
          ties = 1;
          continue;
        }
        const difference = candidate.score - best.score;
        const inFlight = candidate.backend.inFlightRequests - best.backend.inFlightRequests;
        if (difference > TIE_EPSILON || (difference >= -TIE_EPSILON && inFlight < 0)) {
          best = candidate;
          ties = 1;
        } else if (difference >= -TIE_EPSILON && inFlight === 0) {
          ties++;
          if (options.random() * ties < 1) best = candidate;
        }
      }
      return best;
    },
  };
}
