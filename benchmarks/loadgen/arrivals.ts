// Open-loop arrival times: Poisson (exponential gaps with mean 1/rate, as vLLM's burstiness=1) or constant spacing.
// Offsets are cumulative ms from the run start; the first request goes out at 0.
import type { Rng } from './rng.ts';

export interface ArrivalSchedule {
  /** The next arrival's offset from the run start, ms. */
  next(): number;
}

export function createArrivalSchedule(rate: number, kind: 'poisson' | 'constant', rng: Rng): ArrivalSchedule {
  if (!(rate > 0) || !Number.isFinite(rate))
    throw new RangeError(`arrival rate must be a positive number, got ${rate}`);
  let offset = 0;
  let first = true;
  return {
    next: () => {
      if (first) {
        first = false;
        return 0;
      }
      offset += kind === 'poisson' ? rng.exponential(rate) * 1000 : 1000 / rate;
      return offset;
    },
  };
}

/**
 * Waits until `now() >= target`: a timer for all but the last millisecond, then yields with setImmediate (which
 * lets I/O run) so sends are not late by the timer's ~1 ms granularity.
 */
export async function waitUntil(target: number, now: () => number): Promise<void> {
  const coarse = target - now() - 1;
  if (coarse > 0) await new Promise<void>((resolve) => setTimeout(resolve, coarse));
  while (now() < target) await new Promise<void>((resolve) => setImmediate(resolve));
}
