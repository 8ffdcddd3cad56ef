import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../testing/random.ts';
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

describe('Bm25Index columnar storage', () => {
  const words = Array.from({ length: 3000 }, (_value, i) => `t${i.toString(36)}z`);
  function text(random: () => number): string {
    return Array.from(
      { length: 5 + Math.floor(random() * 50) },
      () => words[Math.floor(words.length * random() ** 3)] as string,
    ).join(' ');
  }

  it('scores like a fresh index of the live documents after tail folds, deletes, compaction and updates, and after a snapshot', () => {
    const random = seededRandom(5);
    const live = new Map<number, string>();
    const index = new Bm25Index();
    // ~180k postings: several folds of the tail into the bulk-built postings.
    for (let key = 0; key < 6000; key += 1) {
      live.set(key, text(random));
      index.add([{ key, text: live.get(key) as string }]);
    }
    const removed = Array.from({ length: 2000 }, (_value, i) => i * 3);
    index.delete(removed); // more than a quarter of the slots: compaction renumbers them
    for (const key of removed) live.delete(key);
    for (let key = 1; key < 600; key += 6) {
      live.set(key, text(random)); // update in place
      index.add([{ key, text: live.get(key) as string }]);
    }
    for (let key = 10_000; key < 10_500; key += 1) {
      live.set(key, text(random));
      index.add([{ key, text: live.get(key) as string }]);
    }
    const fresh = new Bm25Index();
    fresh.add([...live].map(([key, body]) => ({ key, text: body })));
    const dir = mkdtempSync(join(tmpdir(), 'bm25-columnar-'));
    try {
      index.save(join(dir, 'bm25.bin'));
      const loaded = Bm25Index.load(join(dir, 'bm25.bin'));
      expect(index.size).toBe(live.size);
      expect(loaded.size).toBe(live.size);
      for (let q = 0; q < 60; q += 1) {
        const query = Array.from(
          { length: 1 + (q % 4) },
          () => words[Math.floor(words.length * random() ** 2)] as string,
        ).join(' ');
        const expected = fresh.search(query, 10);
        for (const candidate of [index, loaded]) {
          const hits = candidate.search(query, 10);
          expect(hits.map((hit) => hit.key)).toEqual(expected.map((hit) => hit.key));
          hits.forEach((hit, i) => expect(hit.score).toBeCloseTo((expected[i] as { score: number }).score, 9));
        }
      }
      for (const key of [1, 2, 10_499, 5999]) {
        expect(index.termVector(key)).toEqual(fresh.termVector(key));
        expect(loaded.termVector(key)).toEqual(fresh.termVector(key));
      }
      expect(index.termVector(0)).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a snapshot whose term ids or sizes do not add up, and still reads the JSON format 1', () => {
    const index = corpus();
    const dir = mkdtempSync(join(tmpdir(), 'bm25-snapshot-'));
    try {
      index.save(join(dir, 'bm25.bin'));
      const bytes = readFileSync(join(dir, 'bm25.bin'));
      expect(() => Bm25Index.fromBytes(bytes.subarray(0, bytes.length - 8))).toThrow(/truncated/);
      const corrupt = Buffer.from(bytes);
      corrupt.writeUInt32LE(0xffff, corrupt.length - 8 - 24); // inside the term-id column
      expect(() => Bm25Index.fromBytes(corrupt)).toThrow(/BM25 snapshot/);
      const legacy = Buffer.from(
        JSON.stringify({
          format: 'switchyard-bm25',
          version: 1,
          k1: 1.2,
          b: 0.75,
          terms: ['brown', 'fox'],
          documents: [
            [1, 2, [0, 1, 1, 1]],
            [3, 4, [1, 3]],
          ],
        }),
      );
      expect(
        Bm25Index.fromBytes(legacy)
          .search('fox', 5)
          .map((hit) => hit.key),
      ).toEqual([3, 1]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
