// MaxScore pruning returns exactly what exhaustive term-at-a-time scoring returns, with deletes and filters.
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../testing/random.ts';
import { Bm25Index } from './bm25.ts';

const VOCABULARY = Array.from({ length: 400 }, (_value, i) => `w${i.toString(36)}x`);

function zipfWord(random: () => number): string {
  // Rank ~ 1/u: frequent words are very frequent, as in text.
  const rank = Math.min(VOCABULARY.length - 1, Math.floor(1 / Math.max(random(), 1 / VOCABULARY.length)) - 1);
  return VOCABULARY[rank] as string;
}

function corpus(seed: number, documents: number): Bm25Index {
  const random = seededRandom(seed);
  const index = new Bm25Index();
  index.add(
    Array.from({ length: documents }, (_value, key) => ({
      key,
      text: Array.from({ length: 5 + Math.floor(random() * 40) }, () => zipfWord(random)).join(' '),
    })),
  );
  return index;
}

function both(index: Bm25Index, query: string, k: number, filter?: (key: number) => boolean) {
  index.pruning = true;
  const pruned = index.search(query, k, filter);
  index.pruning = false;
  const exhaustive = index.search(query, k, filter);
  return { pruned, exhaustive };
}

describe('BM25 MaxScore', () => {
  it('matches exhaustive scoring on 300 random queries (keys in order, scores to 1e-9), with deletes and a filter', () => {
    const index = corpus(7, 3000);
    index.delete(Array.from({ length: 200 }, (_value, i) => i * 7));
    const random = seededRandom(11);
    for (let q = 0; q < 300; q += 1) {
      const query = Array.from({ length: 2 + Math.floor(random() * 5) }, () => zipfWord(random)).join(' ');
      const k = [1, 10, 50][q % 3] as number;
      const filter = q % 5 === 0 ? (key: number) => key % 3 !== 0 : undefined;
      const { pruned, exhaustive } = both(index, query, k, filter);
      expect(pruned.length).toBe(exhaustive.length);
      pruned.forEach((hit, i) => {
        expect(hit.score).toBeCloseTo((exhaustive[i] as { score: number }).score, 9);
      });
      // Equal scores may differ in the last bits between the two summation orders; away from ties keys agree.
      const distinct = exhaustive.filter(
        (hit, i) =>
          Math.abs(hit.score - (exhaustive[i + 1]?.score ?? -1)) > 1e-9 &&
          Math.abs(hit.score - (exhaustive[i - 1]?.score ?? -1)) > 1e-9,
      );
      for (const hit of distinct) expect(pruned.find((other) => other.key === hit.key)).toBeDefined();
    }
  });
});
