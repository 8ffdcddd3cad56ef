// The scale benchmark's code path at 2,000 chunks: the product's ingest, snapshot and search (retrieval-scale-run.ts),
// checked for equal answers rather than timed (timings belong to the benchmark).
import { describe, expect, it } from 'vitest';
import { HnswConfigSchema } from '../retrieval/indexes/hnsw.ts';
import { runScale } from './retrieval-scale-run.ts';

describe('scale run (2k chunks)', () => {
  it('gives MaxScore the exhaustive top 10, and the same answers and chunks before and after a snapshot round trip', async () => {
    const result = await runScale({
      chunks: 2000,
      queries: 60,
      recallQueries: 20,
      hnsw: HnswConfigSchema.parse({}),
    });
    expect(result.chunks).toBe(2000);
    expect(result.bm25.compared).toBe(60);
    expect(result.bm25.identicalTop10).toBe(60);
    expect(result.roundTrip.queries).toBe(150); // 50 queries × 3 modes
    expect(result.roundTrip.identical).toBe(result.roundTrip.queries);
    expect(result.storeRoundTrip.checked).toBe(200);
    expect(result.storeRoundTrip.identical).toBe(200);
    expect(result.recall.recallAt10).toBeGreaterThanOrEqual(0.9);
    expect(result.bm25Postings).toBeGreaterThan(2000 * 10);
    expect(result.snapshotFiles).toHaveProperty('bm25');
    for (const mode of ['lexical', 'vector', 'hybrid'] as const) expect(result.latency[mode].p50).toBeGreaterThan(0);
  }, 180_000);
});
