// Cross-encoder reranking: transformers.js tokenises (query, passage) pairs, onnxruntime-node runs the model directly
// in batches. The score is the model's relevance logit (last column when the head has two classes).
import { AutoTokenizer, type PreTrainedTokenizer, type Tensor as TransformersTensor } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import type { Reranker } from '../contracts.ts';
import {
  assertModelFiles,
  describeLoadFailure,
  ModelSourceSchema,
  resolveModel,
  withModelEnvironment,
} from './resolve.ts';

export const DEFAULT_RERANK_MODEL = 'Xenova/ms-marco-MiniLM-L-6-v2';

export const RerankerConfigSchema = ModelSourceSchema.extend({
  model: z.string().min(1).default(DEFAULT_RERANK_MODEL),
  batchSize: z.number().int().positive().default(16),
  maxLength: z.number().int().positive().default(512),
  intraOpThreads: z.number().int().positive().default(1),
});
export type RerankerConfig = z.infer<typeof RerankerConfigSchema>;

export class OnnxCrossEncoder implements Reranker {
  private constructor(
    readonly modelId: string,
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly session: ort.InferenceSession,
    private readonly config: RerankerConfig,
  ) {}

  static async load(config: z.input<typeof RerankerConfigSchema> = {}): Promise<OnnxCrossEncoder> {
    const parsed = RerankerConfigSchema.parse(config);
    const resolved = resolveModel(parsed);
    assertModelFiles(resolved, parsed.dtype);
    try {
      const tokenizer = await withModelEnvironment(resolved, () => AutoTokenizer.from_pretrained(resolved.id));
      const session = await ort.InferenceSession.create(resolved.onnxFile, {
        intraOpNumThreads: parsed.intraOpThreads,
        interOpNumThreads: 1,
      });
      return new OnnxCrossEncoder(parsed.model, tokenizer, session, parsed);
    } catch (error) {
      throw describeLoadFailure(resolved, error);
    }
  }

  async score(query: string, passages: readonly string[]): Promise<number[]> {
    const scores: number[] = [];
    for (let first = 0; first < passages.length; first += this.config.batchSize) {
      const batch = passages.slice(first, first + this.config.batchSize);
      const encoded = this.tokenizer(
        batch.map(() => query),
        { text_pair: [...batch], padding: true, truncation: true, max_length: this.config.maxLength },
      ) as Record<string, TransformersTensor>;
      const feeds: Record<string, ort.Tensor> = {};
      for (const name of this.session.inputNames) {
        const tensor = encoded[name] ?? zerosLike(encoded['input_ids'] as TransformersTensor);
        feeds[name] = new ort.Tensor('int64', tensor.data as BigInt64Array, tensor.dims);
      }
      const outputs = await this.session.run(feeds);
      const logits = outputs[this.session.outputNames[0] as string] as ort.Tensor;
      const columns = logits.dims[1] ?? 1;
      const data = logits.data as Float32Array;
      for (let row = 0; row < batch.length; row += 1) scores.push(data[row * columns + columns - 1] as number);
    }
    return scores;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

function zerosLike(tensor: TransformersTensor): { data: BigInt64Array; dims: number[] } {
  return { data: new BigInt64Array((tensor.data as BigInt64Array).length), dims: tensor.dims };
}
