// Sentence embeddings through @huggingface/transformers' feature-extraction pipeline: mean pooling over the attention
// mask, L2 normalisation, per-model instruction prefixes, optional Matryoshka truncation (then renormalised).
// Texts are batched, and sorted by length inside a call so that batches pad little; results come back in input order.
import { pipeline, type FeatureExtractionPipeline } from '@huggingface/transformers';
import { z } from 'zod';
import type { Embedder, EmbeddingKind } from '../contracts.ts';
import { normalise } from '../indexes/vector-math.ts';
import {
  assertModelFiles,
  describeLoadFailure,
  ModelSourceSchema,
  resolveModel,
  withModelEnvironment,
} from './resolve.ts';

export const DEFAULT_EMBEDDING_MODEL = 'Xenova/all-MiniLM-L6-v2';

export const EmbedderConfigSchema = ModelSourceSchema.extend({
  model: z.string().min(1).default(DEFAULT_EMBEDDING_MODEL),
  batchSize: z.number().int().positive().default(32),
  /** Matryoshka: keep only the first N dimensions (then renormalise). */
  dimensions: z.number().int().positive().optional(),
  /** Overrides the prefixes guessed from the model id. */
  prefixes: z.object({ query: z.string(), document: z.string() }).optional(),
});
export type EmbedderConfig = z.infer<typeof EmbedderConfigSchema>;

/** Instruction prefixes the model families were trained with. */
export function instructionPrefixes(model: string): { query: string; document: string } {
  const id = model.toLowerCase();
  if (id.includes('nomic-embed')) return { query: 'search_query: ', document: 'search_document: ' };
  if (/(^|[/-])e5([-/]|$)|multilingual-e5|e5-/.test(id)) return { query: 'query: ', document: 'passage: ' };
  if (id.includes('bge-') && id.includes('-en')) {
    return { query: 'Represent this sentence for searching relevant passages: ', document: '' };
  }
  return { query: '', document: '' };
}

export class TransformersEmbedder implements Embedder {
  private constructor(
    readonly modelId: string,
    readonly dimensions: number,
    private readonly extractor: FeatureExtractionPipeline,
    private readonly config: EmbedderConfig,
    private readonly prefixes: { query: string; document: string },
    private readonly nativeDimensions: number,
  ) {}

  static async load(config: z.input<typeof EmbedderConfigSchema> = {}): Promise<TransformersEmbedder> {
    const parsed = EmbedderConfigSchema.parse(config);
    const resolved = resolveModel(parsed);
    assertModelFiles(resolved, parsed.dtype);
    let extractor: FeatureExtractionPipeline;
    try {
      extractor = await withModelEnvironment(resolved, () =>
        pipeline('feature-extraction', resolved.id, { dtype: parsed.dtype }),
      );
    } catch (error) {
      throw describeLoadFailure(resolved, error);
    }
    const modelConfig = extractor.model.config as unknown as { hidden_size?: number };
    const probe = await extractor(['dimension probe'], { pooling: 'mean', normalize: true });
    const nativeDimensions = probe.dims[1] ?? modelConfig.hidden_size ?? 0;
    const dimensions = Math.min(parsed.dimensions ?? nativeDimensions, nativeDimensions);
    const prefixes = parsed.prefixes ?? instructionPrefixes(parsed.model);
    return new TransformersEmbedder(parsed.model, dimensions, extractor, parsed, prefixes, nativeDimensions);
  }

  async embed(texts: readonly string[], kind: EmbeddingKind): Promise<Float32Array[]> {
    const prefix = kind === 'query' ? this.prefixes.query : this.prefixes.document;
    const order = texts.map((_, i) => i).sort((a, b) => (texts[a] as string).length - (texts[b] as string).length);
    const out = new Array<Float32Array>(texts.length);
    for (let first = 0; first < order.length; first += this.config.batchSize) {
      const batch = order.slice(first, first + this.config.batchSize);
      const output = await this.extractor(
        batch.map((i) => prefix + (texts[i] as string)),
        { pooling: 'mean', normalize: true },
      );
      const data = output.data as Float32Array;
      batch.forEach((textIndex, row) => {
        const vector = data.slice(row * this.nativeDimensions, (row + 1) * this.nativeDimensions);
        out[textIndex] =
          this.dimensions < this.nativeDimensions ? normalise(vector.subarray(0, this.dimensions)) : vector;
      });
      output.dispose();
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.extractor.dispose();
  }
}
