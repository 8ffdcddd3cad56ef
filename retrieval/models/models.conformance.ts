// Conformance suite for Embedder implementations: dimensions, unit norm, batch == single, order preserved,
// Matryoshka truncation, query/document prefixes.
import { describe, expect, it } from 'vitest';
import type { Embedder } from '../contracts.ts';
import { dot } from '../indexes/vector-math.ts';

const TEXTS = [
  'How do I configure authentication with OAuth tokens?',
  'Connection refused on port 443',
  'bake bread',
  'A much longer passage about database migrations, transactions, schema changes and SQL queries for postgres.',
];

export function runEmbedderConformance(
  name: string,
  load: (options: { dimensions?: number; prefixes?: { query: string; document: string } }) => Promise<Embedder>,
): void {
  describe(`Embedder conformance: ${name}`, () => {
    it('returns one unit vector of the declared dimensions per text', async () => {
      const embedder = await load({});
      const vectors = await embedder.embed(TEXTS, 'document');
      expect(vectors).toHaveLength(TEXTS.length);
      for (const vector of vectors) {
        expect(vector.length).toBe(embedder.dimensions);
        expect(Math.sqrt(dot(vector, vector))).toBeCloseTo(1, 5);
      }
      await embedder.dispose();
    });

    it('gives the same vector for a text alone or inside a padded batch', async () => {
      const embedder = await load({});
      const batch = await embedder.embed(TEXTS, 'document');
      for (const [i, text] of TEXTS.entries()) {
        const [single] = await embedder.embed([text], 'document');
        expect(dot(single as Float32Array, batch[i] as Float32Array)).toBeGreaterThan(0.99999);
      }
      await embedder.dispose();
    });

    it('truncates to Matryoshka dimensions and renormalises', async () => {
      const full = await load({});
      const small = await load({ dimensions: 16 });
      expect(small.dimensions).toBe(16);
      const [fullVector] = await full.embed([TEXTS[0] as string], 'document');
      const [smallVector] = await small.embed([TEXTS[0] as string], 'document');
      expect(smallVector?.length).toBe(16);
      expect(Math.sqrt(dot(smallVector as Float32Array, smallVector as Float32Array))).toBeCloseTo(1, 5);
      // Same direction as the first 16 dimensions of the full vector.
      const head = (fullVector as Float32Array).subarray(0, 16);
      expect(dot(head, smallVector as Float32Array) / Math.sqrt(dot(head, head))).toBeCloseTo(1, 5);
      await full.dispose();
      await small.dispose();
    });

    it('applies the query and document prefixes', async () => {
      const embedder = await load({ prefixes: { query: 'database sql: ', document: '' } });
      const [asQuery] = await embedder.embed(['bake bread'], 'query');
      const [asDocument] = await embedder.embed(['bake bread'], 'document');
      expect(dot(asQuery as Float32Array, asDocument as Float32Array)).toBeLessThan(0.999);
      await embedder.dispose();
    });
  });
}
