import { describe, expect, it } from 'vitest';
import { reciprocalRankFusion } from './rrf.ts';

const hits = (...keys: number[]) => keys.map((key, i) => ({ key, score: 10 - i }));

describe('reciprocalRankFusion', () => {
  it('sums weighted 1/(k + rank) over lists', () => {
    const fused = reciprocalRankFusion(
      [
        { name: 'lexical', weight: 1, hits: hits(1, 2, 3) },
        { name: 'vector', weight: 1, hits: hits(3, 1) },
      ],
      60,
    );
    // key 1: 1/61 + 1/62; key 3: 1/63 + 1/61; key 2: 1/62
    expect(fused.map((hit) => hit.key)).toEqual([1, 3, 2]);
    expect(fused[0]?.score).toBeCloseTo(1 / 61 + 1 / 62, 12);
    expect(fused[1]?.score).toBeCloseTo(1 / 63 + 1 / 61, 12);
    expect(fused[0]?.ranks).toEqual({ lexical: 1, vector: 2 });
  });

  it('lets weights decide between lists', () => {
    const lists = (lexicalWeight: number) => [
      { name: 'lexical', weight: lexicalWeight, hits: hits(1) },
      { name: 'vector', weight: 1, hits: hits(2) },
    ];
    expect(reciprocalRankFusion(lists(2))[0]?.key).toBe(1);
    expect(reciprocalRankFusion(lists(0.5))[0]?.key).toBe(2);
  });

  it('breaks exact ties by best rank, then by key', () => {
    const fused = reciprocalRankFusion([
      { name: 'a', weight: 1, hits: hits(9, 4) },
      { name: 'b', weight: 1, hits: hits(4, 9) },
    ]);
    expect(fused[0]?.score).toBe(fused[1]?.score);
    expect(fused.map((hit) => hit.key)).toEqual([4, 9]);
  });
});
