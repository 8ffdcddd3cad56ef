// BM25 query weighting and RM3 expansion (prf.ts) on a small corpus whose vocabulary makes the expansion predictable.
import { describe, expect, it } from 'vitest';
import { Bm25Index } from '../indexes/bm25.ts';
import { expandQuery, searchWithFeedback } from './prf.ts';

const DOCUMENTS = [
  'parallel algorithms for sorting on multiprocessor machines',
  'parallel sorting networks and multiprocessor scheduling',
  'multiprocessor scheduling of parallel tasks',
  'a compiler for an algebraic language',
  'garbage collection in list processing languages',
  'multiprocessor memory contention',
];

function corpus(): Bm25Index {
  const index = new Bm25Index();
  index.add(DOCUMENTS.map((text, key) => ({ key, text })));
  return index;
}

describe('BM25 query terms', () => {
  it('counts a repeated query term each time it occurs (as Lucene and rank_bm25 do)', () => {
    const index = corpus();
    const once = new Map(index.search('compiler language', 10).map((hit) => [hit.key, hit.score]));
    const twice = new Map(index.search('compiler compiler language', 10).map((hit) => [hit.key, hit.score]));
    const compilerOnly = index.search('compiler', 10)[0];
    expect(compilerOnly?.key).toBe(3);
    expect(twice.get(3)).toBeCloseTo((once.get(3) ?? 0) + (compilerOnly?.score ?? 0), 10);
    // A document without "compiler" scores the same either way.
    expect(twice.get(4)).toBeCloseTo(once.get(4) ?? 0, 10);
  });

  it("exposes a document's analysed term vector and a term's document frequency", () => {
    const index = corpus();
    expect(index.termVector(1)).toEqual({
      length: 5,
      terms: new Map([
        ['parallel', 1],
        ['sort', 1],
        ['network', 1],
        ['multiprocessor', 1],
        ['schedul', 1],
      ]),
    });
    expect(index.termVector(99)).toBeNull();
    expect(index.documentFrequency('multiprocessor')).toBe(4);
  });
});

describe('RM3 pseudo-relevance feedback', () => {
  it("mixes the normalised query with the feedback documents' heaviest terms", () => {
    const index = corpus();
    const expanded = expandQuery(index, 'parallel sorting', {
      feedbackDocuments: 2,
      feedbackTerms: 3,
      originalWeight: 0.6,
    });
    expect([...expanded.values()].reduce((sum, weight) => sum + weight, 0)).toBeCloseTo(1, 10);
    expect(expanded.get('multiprocessor')).toBeGreaterThan(0);
    expect(expanded.get('parallel')).toBeGreaterThan(0.3);
    expect(expanded.has('compil')).toBe(false);
  });

  it('finds a related document the query words alone miss, and degrades to the query when nothing matches', () => {
    const index = corpus();
    const plain = index.search('parallel sorting', 10).map((hit) => hit.key);
    const expanded = searchWithFeedback(index, 'parallel sorting', 10, { feedbackDocuments: 2, feedbackTerms: 5 }).map(
      (hit) => hit.key,
    );
    expect(plain).not.toContain(5);
    expect(expanded).toContain(5);
    expect(expandQuery(index, 'zebra', {})).toEqual(new Map([['zebra', 1]]));
    expect(searchWithFeedback(index, 'zebra', 10)).toEqual([]);
  });
});
