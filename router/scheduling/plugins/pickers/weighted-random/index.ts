import type { PickerPlugin, SchedulingRequest, ScoredBackend } from '../../../contracts.ts';

/**
 * Samples a candidate with probability ∝ score^sharpness (uniform when every score is 0). `order` samples the whole
 * list without replacement (Efraimidis–Spirakis keys log(u)/w, highest first): the first is drawn with exactly that
 * probability, and each next one from what is left.
 */
export function createWeightedRandomPicker(options: { sharpness: number; random: () => number }): PickerPlugin {
  const weightOf = (candidate: ScoredBackend): number => Math.pow(Math.max(0, candidate.score), options.sharpness);
  return {
    name: 'weighted-random',
    order(_request: SchedulingRequest, scored: readonly ScoredBackend[]): ScoredBackend[] {
      if (scored.length <= 1) return [...scored];
      const anyWeight = scored.some((candidate) => weightOf(candidate) > 0);
      const keys = new Map<ScoredBackend, number>();
      for (const candidate of scored) {
        const weight = anyWeight ? weightOf(candidate) : 1;
        // 1 − u is in (0, 1], so the log is finite; weight 0 sorts last.
        keys.set(candidate, weight > 0 ? Math.log(1 - options.random()) / weight : Number.NEGATIVE_INFINITY);
      }
      return [...scored].sort((a, b) => {
        const keyA = keys.get(a)!;
        const keyB = keys.get(b)!;
        return keyA === keyB ? 0 : keyB > keyA ? 1 : -1;
      });
    },
    pick(_request: SchedulingRequest, scored: readonly ScoredBackend[]): ScoredBackend | undefined {
      if (scored.length === 0) return undefined;
      const weights = scored.map(weightOf);
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
