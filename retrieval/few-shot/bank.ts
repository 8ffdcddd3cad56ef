// Dynamic few-shot selection: an example bank (JSONL: {id, input, output, insufficient?}) embedded with the same
// embedder as the documents; `select` returns the k examples most similar to the query, and always includes one
// "insufficient information" example when the bank has any (so the model sees that refusing is allowed). Without an
// embedder the bank falls back to BM25 over the example inputs.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Embedder } from '../contracts.ts';
import { InvalidRequestError } from '../errors.ts';
import { Bm25Index } from '../indexes/bm25.ts';
import { BruteForceIndex } from '../indexes/brute-force.ts';

export const FewShotExampleSchema = z.object({
  id: z.union([z.string().min(1), z.number()]).transform(String),
  input: z.string().min(1),
  output: z.string().min(1),
  /** Marks an example whose right answer is "the context does not contain this". */
  insufficient: z.boolean().default(false),
});
export type FewShotExample = z.infer<typeof FewShotExampleSchema>;

export interface SelectedExample extends FewShotExample {
  score: number;
}

export class FewShotBank {
  private constructor(
    readonly name: string,
    readonly examples: readonly FewShotExample[],
    private readonly embedder: Embedder | null,
    private readonly vectors: BruteForceIndex | null,
    private readonly lexical: Bm25Index,
  ) {}

  static async build(
    name: string,
    examples: readonly FewShotExample[],
    embedder: Embedder | null,
  ): Promise<FewShotBank> {
    const lexical = new Bm25Index();
    lexical.add(examples.map((example, key) => ({ key, text: example.input })));
    let vectors: BruteForceIndex | null = null;
    if (embedder !== null && examples.length > 0) {
      const embedded = await embedder.embed(
        examples.map((example) => example.input),
        'query',
      );
      vectors = new BruteForceIndex(embedder.dimensions, 'ip');
      vectors.add(embedded.map((vector, key) => ({ key, vector })));
    }
    return new FewShotBank(name, examples, embedder, vectors, lexical);
  }

  static async fromJsonl(name: string, path: string, embedder: Embedder | null): Promise<FewShotBank> {
    const examples = readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => line.trim().length > 0)
      .map((line, index) => {
        const parsed = FewShotExampleSchema.safeParse(JSON.parse(line));
        if (!parsed.success) throw new InvalidRequestError(`${path}:${index + 1}: ${parsed.error.issues[0]?.message}`);
        return parsed.data;
      });
    return FewShotBank.build(name, examples, embedder);
  }

  async select(query: string, k: number): Promise<SelectedExample[]> {
    if (k <= 0 || this.examples.length === 0) return [];
    let ranked: { key: number; score: number }[];
    if (this.vectors !== null && this.embedder !== null) {
      const [vector] = await this.embedder.embed([query], 'query');
      ranked = this.vectors.search(vector as Float32Array, this.examples.length);
    } else {
      const hits = this.lexical.search(query, this.examples.length);
      const seen = new Set(hits.map((hit) => hit.key));
      // Examples sharing no term still rank, after the matching ones, in bank order.
      ranked = [...hits, ...this.examples.map((_, key) => ({ key, score: 0 })).filter((hit) => !seen.has(hit.key))];
    }
    const chosen = ranked.slice(0, k);
    const hasInsufficient = chosen.some((hit) => this.examples[hit.key]?.insufficient === true);
    if (!hasInsufficient) {
      const bestInsufficient = ranked.find((hit) => this.examples[hit.key]?.insufficient === true);
      if (bestInsufficient !== undefined) {
        if (chosen.length >= k) chosen.pop();
        chosen.push(bestInsufficient);
      }
    }
    return chosen.map((hit) => ({ ...(this.examples[hit.key] as FewShotExample), score: hit.score }));
  }
}
