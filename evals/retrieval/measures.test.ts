// Every expected value below is worked out by hand from collection/qrels.txt and collection/run-a.txt, with
// trec_eval's definitions (see measures.ts). Ranking per query after trec_eval's ordering (score desc, docno desc):
//   q1: d2 (2), d7 (0), d1 (1), d10 (1)     — d7 and d1 tie at 0.8 and "d7" > "d1"
//   q2: d8 (1), d4 (2), d5 (unjudged)
//   q3: d9, d3 (both unjudged for q3)       — its only relevant document, d6, is not retrieved
//   q4: d5 (2), d11 (0)
//   q5: not in the run; q9: not in the qrels
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { measureQuery, measureRun } from './measures.ts';
import { parseQrels, parseRun, rankDocuments } from './trec.ts';

const collection = join(import.meta.dirname, 'collection');
const qrels = parseQrels(readFileSync(join(collection, 'qrels.txt'), 'utf8'));
const run = parseRun(readFileSync(join(collection, 'run-a.txt'), 'utf8'));
const cutoffs = [1, 3, 5, 10];
const log2 = Math.log2;

describe('trec_eval measures on the hand-made run', () => {
  const measures = measureRun(run, qrels, { cutoffs });
  const q = (id: string) => {
    const value = measures.perQuery.get(id);
    if (!value) throw new Error(`no measures for ${id}`);
    return value;
  };

  it('ranks by score with trec_eval tie-breaking, ignoring the rank column', () => {
    expect(rankDocuments(run.get('q1') ?? [])).toEqual(['d2', 'd7', 'd1', 'd10']);
  });

  it('evaluates only run queries that have judgments', () => {
    expect([...measures.perQuery.keys()]).toEqual(['q1', 'q2', 'q3', 'q4']);
    expect(measures.numQueries).toBe(4);
  });

  it('q1: precision, recall, reciprocal rank, AP', () => {
    const m = q('q1');
    expect(m.numRel).toBe(3);
    expect(m.numRelRet).toBe(3);
    expect(m.precisionAt[1]).toBe(1);
    expect(m.precisionAt[3]).toBeCloseTo(2 / 3, 12);
    expect(m.precisionAt[5]).toBeCloseTo(3 / 5, 12);
    expect(m.precisionAt[10]).toBeCloseTo(3 / 10, 12);
    expect(m.recallAt[1]).toBeCloseTo(1 / 3, 12);
    expect(m.recallAt[3]).toBeCloseTo(2 / 3, 12);
    expect(m.recallAt[5]).toBe(1);
    expect(m.recipRank).toBe(1);
    expect(m.averagePrecision).toBeCloseTo((1 / 1 + 2 / 3 + 3 / 4) / 3, 12);
  });

  it('q1: graded and binary nDCG (gain = grade, discount log2(rank + 1))', () => {
    const m = q('q1');
    const dcg5 = 2 / log2(2) + 0 + 1 / log2(4) + 1 / log2(5);
    const idcg = 2 / log2(2) + 1 / log2(3) + 1 / log2(4);
    expect(m.ndcgAt[5]).toBeCloseTo(dcg5 / idcg, 12);
    expect(m.ndcgAt[3]).toBeCloseTo((2 + 1 / log2(4)) / idcg, 12);
    expect(m.ndcgAt[1]).toBeCloseTo(2 / 2, 12);
    const binaryDcg = 1 + 1 / log2(4) + 1 / log2(5);
    const binaryIdcg = 1 + 1 / log2(3) + 1 / log2(4);
    expect(m.ndcgBinaryAt[5]).toBeCloseTo(binaryDcg / binaryIdcg, 12);
    expect(m.ndcgAt[5]).toBeCloseTo(0.93604, 5);
  });

  it('q2: a more relevant document below a less relevant one', () => {
    const m = q('q2');
    expect(m.averagePrecision).toBe(1);
    expect(m.precisionAt[5]).toBeCloseTo(2 / 5, 12);
    expect(m.ndcgAt[5]).toBeCloseTo((1 + 2 / log2(3)) / (2 + 1 / log2(3)), 12);
    expect(m.ndcgBinaryAt[5]).toBe(1);
  });

  it('q3: nothing relevant retrieved scores 0 everywhere', () => {
    const m = q('q3');
    expect([m.averagePrecision, m.recipRank, m.ndcgAt[10], m.recallAt[10], m.precisionAt[1]]).toEqual([0, 0, 0, 0, 0]);
    expect(m.numRel).toBe(1);
  });

  it('means over the four evaluated queries', () => {
    const ap1 = (1 + 2 / 3 + 3 / 4) / 3;
    expect(measures.mean.map).toBeCloseTo((ap1 + 1 + 0 + 1) / 4, 12);
    expect(measures.mean.mrr).toBeCloseTo(3 / 4, 12);
    expect(measures.mean.precisionAt[5]).toBeCloseTo((3 / 5 + 2 / 5 + 0 + 1 / 5) / 4, 12);
    expect(measures.mean.recallAt[3]).toBeCloseTo((2 / 3 + 1 + 0 + 1) / 4, 12);
  });

  it('complete mode (trec_eval -c) adds judged queries missing from the run as zeros', () => {
    const complete = measureRun(run, qrels, { cutoffs, complete: true });
    expect(complete.numQueries).toBe(5);
    expect(complete.mean.map).toBeCloseTo(((1 + 2 / 3 + 3 / 4) / 3 + 1 + 0 + 1) / 5, 12);
    expect(complete.perQuery.get('q5')?.numRel).toBe(2);
  });

  it('relevance level 2 changes binary measures but graded nDCG keeps every positive grade', () => {
    const strict = measureRun(run, qrels, { cutoffs, relevanceLevel: 2 });
    const m = strict.perQuery.get('q1');
    expect(m?.numRel).toBe(1);
    expect(m?.averagePrecision).toBe(1);
    expect(m?.ndcgAt[5]).toBeCloseTo(q('q1').ndcgAt[5] ?? -1, 12);
    // q2's only grade-2 document is at rank 2.
    expect(strict.perQuery.get('q2')?.recipRank).toBe(1 / 2);
  });
});

describe('measureQuery edge cases', () => {
  it('a query whose judgments are all non-relevant scores 0 (and still counts)', () => {
    const m = measureQuery(['a', 'b'], new Map([['a', 0]]), { cutoffs: [5] });
    expect(m.numRel).toBe(0);
    expect([m.averagePrecision, m.recallAt[5], m.ndcgAt[5], m.ndcgBinaryAt[5]]).toEqual([0, 0, 0, 0]);
  });

  it('negative grades (unjudged in pool) are not relevant and add no gain', () => {
    const m = measureQuery(
      ['a', 'b'],
      new Map([
        ['a', -1],
        ['b', 1],
      ]),
      { cutoffs: [2] },
    );
    expect(m.recipRank).toBe(1 / 2);
    expect(m.ndcgAt[2]).toBeCloseTo(1 / log2(3), 12);
  });

  it('cutoffs beyond the retrieved list count the missing ranks as non-relevant', () => {
    const m = measureQuery(['a'], new Map([['a', 1]]), { cutoffs: [10] });
    expect(m.precisionAt[10]).toBe(0.1);
    expect(m.recallAt[10]).toBe(1);
  });
});
