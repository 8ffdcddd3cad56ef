// The explicit fallback embedder: a deterministic hashed bag of words (FNV-1a into `dimensions` signed buckets,
// log term frequency, L2-normalised). It measures word overlap, not meaning; runs that use it say so in the report
// (`embedder.fallback: true`) and on the terminal. It exists so the semantic stage works offline before (or
// without) the retrieval embedder, and so tests are exact.
import type { Embedder } from '../contracts.ts';
import { wordTokens } from '../metrics/text.ts';

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export class HashedBagOfWordsEmbedder implements Embedder {
  readonly id: string;
  readonly dimensions: number;

  constructor(dimensions = 512) {
    this.dimensions = dimensions;
    this.id = `hashed-bow-${dimensions}-v1`;
  }

  embed(texts: readonly string[]): Promise<number[][]> {
    return Promise.resolve(texts.map((text) => this.embedOne(text)));
  }

  private embedOne(text: string): number[] {
    const counts = new Map<string, number>();
    for (const token of wordTokens(text)) counts.set(token, (counts.get(token) ?? 0) + 1);
    const vector = new Array<number>(this.dimensions).fill(0);
    for (const [token, count] of counts) {
      const hash = fnv1a(token);
      const bucket = hash % this.dimensions;
      const sign = hash >>> 31 === 1 ? -1 : 1;
      vector[bucket] = (vector[bucket] ?? 0) + sign * (1 + Math.log(count));
    }
    const norm = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0));
    return norm === 0 ? vector : vector.map((x) => x / norm);
  }
}

/** Wraps an embedder with a per-run memo so repeated sentences (references, contexts) are embedded once. */
export class MemoizingEmbedder implements Embedder {
  readonly id: string;
  private readonly memo = new Map<string, number[]>();

  constructor(private readonly inner: Embedder) {
    this.id = inner.id;
  }

  async embed(texts: readonly string[]): Promise<number[][]> {
    const missing = [...new Set(texts.filter((text) => !this.memo.has(text)))];
    if (missing.length > 0) {
      const vectors = await this.inner.embed(missing);
      if (vectors.length !== missing.length) {
        throw new Error(`embedder ${this.inner.id} returned ${vectors.length} vectors for ${missing.length} texts`);
      }
      missing.forEach((text, index) => this.memo.set(text, vectors[index] ?? []));
    }
    return texts.map((text) => this.memo.get(text) ?? []);
  }
}
