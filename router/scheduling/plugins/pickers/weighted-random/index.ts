import type { PickerPlugin, SchedulingRequest, ScoredBackend } from '../../../contracts.ts';

/** Samples a candidate with probability ∝ score^sharpness (uniform when every score is 0). */
export function createWeightedRandomPicker(options: { sharpness: number; random: () => number }): PickerPlugin {
  return {
    name: 'weighted-random',
    pick(_request: SchedulingRequest, scored: readonly ScoredBackend[]): ScoredBackend | undefined {
      if (scored.length === 0) return undefined;
      const weights = scored.map((candidate) => Math.pow(Math.max(0, candidate.score), options.sharpness));
      const total = weights.reduce((sum, weight) => sum + weight, 0);
      if (!(total > 0)) return scored[Math.min(scored.length - 1, Math.floor(options.random() * scored.length))];
      let target = options.random() * total;
      for (let index = 0; index < scored.length; index++) {
        target -= weights[index]!;
        if (target < 0) return scored[index];
      }
      return scored[scored.length - 1];
    },
  };
}
