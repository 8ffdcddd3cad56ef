import { describe, expect, it } from 'vitest';
import { englishAnalyzer } from './analyzer.ts';
import { Bm25Index } from './bm25.ts';

// Corpus and scores worked out by hand (k1 = 1.2, b = 0.75):
//   d1 "the quick brown fox"        → quick brown fox        (|d| = 3)
//   d2 "the lazy brown dog sleeps"  → lazi brown dog sleep   (|d| = 4)
//   d3 "fox fox fox jumps"          → fox fox fox jump       (|d| = 4)
//   N = 3, avgdl = 11/3; df(brown) = df(fox) = 2 → idf = ln(1 + 1.5/2.5) = ln 1.6 = 0.470004
//   d1: K = 1.2·(0.25 + 0.75·3/(11/3)) = 1.036364; 2 · 0.470004 · 1/(1 + K) = 0.461610
//   d2: K = 1.2·(0.25 + 0.75·4/(11/3)) = 1.281818; 0.470004 · 1/(1 + K) = 0.205978
//   d3: 0.470004 · 3/(3 + 1.281818) = 0.329302
function corpus(): Bm25Index {
  const index = new Bm25Index({ k1: 1.2, b: 0.75 });
  index.add([
    { key: 1, text: 'the quick brown fox' },
    { key: 2, text: 'the lazy brown dog sleeps' },
    { key: 3, text: 'fox fox fox jumps' },
  ]);
  return index;
}

describe('Bm25Index', () => {
  it('analyses with stop words removed and Porter stems, keeping identifiers whole', () => {
    expect(englishAnalyzer.terms('The lazy dogs sleeps ERR_CONN_REFUSED_443')).toEqual([
      'lazi',
      'dog',
      'sleep',
      'err_conn_refused_443',
    ]);
  });

  it('ranks and scores a hand-computed query', () => {
    const hits = corpus().search('brown fox', 10);
    expect(hits.map((hit) => hit.key)).toEqual([1, 3, 2]);
    expect(hits[0]?.score).toBeCloseTo(0.46161, 4);
    expect(hits[1]?.score).toBeCloseTo(0.329302, 4);
    expect(hits[2]?.score).toBeCloseTo(0.205978, 4);
    expect(corpus().idf('brown')).toBeCloseTo(0.470004, 5);
  });

  it('recomputes N, df and avgdl after a delete', () => {
    // After deleting d2: N = 2, avgdl = 3.5, idf(brown) = ln 2 = 0.693147, idf(fox) = ln 1.2 = 0.182322
    //   d1: K = 1.2·(0.25 + 0.75·3/3.5) = 1.071429; (0.693147 + 0.182322)/(1 + K) = 0.422640
    //   d3: K = 1.328571; 0.182322 · 3/(3 + K) = 0.126362
    const index = corpus();
    index.delete([2]);
    const hits = index.search('brown fox', 10);
    expect(hits.map((hit) => hit.key)).toEqual([1, 3]);
    expect(hits[0]?.score).toBeCloseTo(0.42264, 4);
    expect(hits[1]?.score).toBeCloseTo(0.126362, 4);
  });

  it('uses configurable k1 and b (b = 0 ignores document length)', () => {
    const index = new Bm25Index({ k1: 1.2, b: 0 });
    index.add([
      { key: 1, text: 'fox' },
      { key: 2, text: 'fox quick quick quick quick quick' },
      { key: 3, text: 'dog' },
    ]);
    const hits = index.search('fox', 10);
    expect(hits[0]?.score).toBeCloseTo(hits[1]?.score ?? Number.NaN, 10);
    expect(hits.map((hit) => hit.key)).toEqual([1, 2]); // equal scores: lower key first
  });

  it('returns nothing for queries made only of stop words or unknown terms', () => {
    expect(corpus().search('the and of', 5)).toEqual([]);
    expect(corpus().search('zebra', 5)).toEqual([]);
  });

  it('stays correct across compaction of many deletes', () => {
    const index = new Bm25Index();
    index.add(Array.from({ length: 400 }, (_, i) => ({ key: i, text: `shared word${i % 10} n${i}` })));
    index.delete(Array.from({ length: 300 }, (_, i) => i));
    expect(index.size).toBe(100);
    const hits = index.search('word3', 50);
    expect(hits).toHaveLength(10);
    for (const hit of hits) expect(hit.key).toBeGreaterThanOrEqual(300);
  });
});
