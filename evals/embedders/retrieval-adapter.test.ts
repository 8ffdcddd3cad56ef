// The retrieval stack's ONNX embedder behind the evals' Embedder contract (tiny generated BERT from
// retrieval/models/fixtures), and the explicit fallback when it cannot load.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Embedder } from '../contracts.ts';
import { cosine } from '../metrics/text.ts';
import { evaluateAssertion, makeCase } from '../metrics/testing.ts';
import { HashedBagOfWordsEmbedder } from './hashed.ts';
import { loadRetrievalEmbedder } from './retrieval-adapter.ts';
import { selectEmbedder } from './select.ts';

const TINY = join(import.meta.dirname, '..', '..', 'retrieval', 'models', 'fixtures', 'tiny-bert-embedder');

describe('Embedder contract', () => {
  it.each<[string, () => Promise<Embedder>]>([
    ['hashed fallback', () => Promise.resolve(new HashedBagOfWordsEmbedder())],
    [
      'retrieval ONNX embedder',
      async () => {
        const loaded = await loadRetrievalEmbedder(TINY);
        if (!loaded.ok) throw new Error(loaded.reason);
        return loaded.embedder;
      },
    ],
  ])('%s: one vector per text, normalised, batch equals single, deterministic', async (_name, make) => {
    const embedder = await make();
    try {
      const texts = ['how does the login flow work', 'bake the bread in a hot oven', 'authentication'];
      const batch = await embedder.embed(texts);
      expect(batch).toHaveLength(3);
      const dimensions = batch[0]?.length ?? 0;
      expect(dimensions).toBeGreaterThan(0);
      for (const vector of batch) {
        expect(vector).toHaveLength(dimensions);
        expect(Math.hypot(...vector)).toBeCloseTo(1, 4);
      }
      const single = await embedder.embed([texts[1] ?? '']);
      expect(cosine(single[0] ?? [], batch[1] ?? [])).toBeCloseTo(1, 4);
      expect(await embedder.embed([])).toEqual([]);
      expect(embedder.id.length).toBeGreaterThan(0);
    } finally {
      await embedder.close?.();
    }
  });

  it('feeds the semantic metrics', async () => {
    const selected = await selectEmbedder('retrieval', TINY);
    try {
      expect(selected).toMatchObject({ fallback: false, note: null });
      expect(selected.embedder.id).toMatch(/^retrieval:/);
      const result = await evaluateAssertion(
        { type: 'embedding-similarity', threshold: 0.99 },
        'the login flow',
        makeCase({ reference: 'the login flow' }),
        { embedder: selected.embedder, judge: null },
      );
      expect(result).toMatchObject({ pass: true });
      expect(result.score).toBeCloseTo(1, 4);
    } finally {
      await selected.embedder.close?.();
    }
  });

  it('auto falls back to the hashed embedder explicitly; retrieval-only fails clearly', async () => {
    const missing = '/nonexistent/model-folder';
    const auto = await selectEmbedder('auto', missing);
    expect(auto.fallback).toBe(true);
    expect(auto.note).toMatch(/retrieval embedder unavailable .*; using the hashed bag-of-words fallback/);
    await expect(selectEmbedder('retrieval', missing)).rejects.toThrow(/retrieval embedder unavailable/);
  });
});
