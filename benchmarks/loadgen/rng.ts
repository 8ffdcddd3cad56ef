// Seeded pseudo-random numbers so a workload and its arrival times are reproducible from `--seed` alone.
// mulberry32 over a splitmix32-scrambled seed: tiny, fast, and statistically fine for sampling (not for crypto).
import { seededRandom } from '../../models/random.ts';

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer uniform in [min, max] inclusive. */
  int(min: number, max: number): number;
  /** Exponential with the given rate (mean 1/rate). */
  exponential(rate: number): number;
  /** Normal via Box–Muller. */
  normal(mean: number, std: number): number;
  /** A new independent stream derived from this one (e.g. one for arrivals, one for prompts). */
  fork(): Rng;
}

function splitmix32(seed: number): number {
  let z = (seed + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export function createRng(seed: number): Rng {
  const next = seededRandom(splitmix32(seed >>> 0));
  let spareNormal: number | undefined;
  const rng: Rng = {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    // 1 - u lies in (0, 1], so the log is finite.
    exponential: (rate) => -Math.log(1 - next()) / rate,
    normal: (mean, std) => {
      if (spareNormal !== undefined) {
        const value = spareNormal;
        spareNormal = undefined;
        return mean + std * value;
      }
      const u1 = 1 - next();
      const u2 = next();
      const radius = Math.sqrt(-2 * Math.log(u1));
      spareNormal = radius * Math.sin(2 * Math.PI * u2);
      return mean + std * radius * Math.cos(2 * Math.PI * u2);
    },
    fork: () => createRng(Math.floor(next() * 4294967296)),
  };
  return rng;
}
