import type { PickerPlugin, SchedulingRequest, ScoredBackend } from '../../../contracts.ts';
import { hashPair } from '../../normalize.ts';

/** Scores closer than this are a tie (float noise from weighted sums). */
export const TIE_EPSILON = 1e-9;

/**
 * Highest score wins. Ties go to fewer router-side in-flight requests, then to the smallest hash of
 * (requestId, backendId): deterministic for a given request, yet idle replicas share the load instead of the
 * alphabetically first one taking everything.
 */
export function createMaxScorePicker(): PickerPlugin {
  return {
    name: 'max-score',
    pick(request: SchedulingRequest, scored: readonly ScoredBackend[]): ScoredBackend | undefined {
      let best: ScoredBackend | undefined;
      let bestHash = 0;
      for (const candidate of scored) {
        if (!best) {
          best = candidate;
          bestHash = hashPair(request.requestId, candidate.backend.id);
          continue;
        }
        const difference = candidate.score - best.score;
        if (difference > TIE_EPSILON) {
          best = candidate;
          bestHash = hashPair(request.requestId, candidate.backend.id);
        } else if (difference >= -TIE_EPSILON) {
          const inFlight = candidate.backend.inFlightRequests - best.backend.inFlightRequests;
          if (inFlight > 0) continue;
          const hash = hashPair(request.requestId, candidate.backend.id);
          if (inFlight < 0 || hash < bestHash || (hash === bestHash && candidate.backend.id < best.backend.id)) {
            best = candidate;
            bestHash = hash;
          }
        }
      }
      return best;
    },
  };
}
