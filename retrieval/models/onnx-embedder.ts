// The same embedding computed without the transformers.js pipeline: transformers.js tokenises, onnxruntime-node runs
// the model, and mean pooling + L2 normalisation happen here. It is the second Embedder implementation (the
// conformance suite checks both agree in behaviour) and the raw baseline of the embedding-throughput benchmark.
import { AutoTokenizer, type PreTrainedTokenizer, type Tensor as TransformersTensor } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import type { z } from 'zod';
import type { Embedder, EmbeddingKind } from '../contracts.ts';
import { normalise } from '../indexes/vector-math.ts';
import { EmbedderConfigSchema, instructionPrefixes, type EmbedderConfig } from './embedder.ts';
import { assertModelFiles, describeLoadFailure, resolveModel, withModelEnvironment } from './resolve.ts';

export interface EncodedBatch {
  feeds: Record<string, ort.Tensor>;
  mask: BigInt64Array;
  rows: number;
  columns: number;
}

export class OnnxEmbedder implements Embedder {
  private constructor(
    readonly modelId: string,
    readonly dimensions: number,
    readonly session: ort.InferenceSession,
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly config: EmbedderConfig,
    private readonly nativeDimensions: number,
  ) {}

  static async load(config: z.input<typeof EmbedderConfigSchema> = {}): Promise<OnnxEmbedder> {
    const parsed = EmbedderConfigSchema.parse(config);
    const resolved = resolveModel(parsed);
    assertModelFiles(resolved, parsed.dtype);
    try {
      const tokenizer = await withModelEnvironment(resolved, () => AutoTokenizer.from_pretrained(resolved.id));
      const session = await ort.InferenceSession.create(resolved.onnxFile);
      const partial = new OnnxEmbedder(parsed.model, 0, session, tokenizer, parsed, 0);
      const [probe] = await partial.runBatch(partial.encode(['dimension probe']));
      const nativeDimensions = probe?.length ?? 0;
      const dimensions = Math.min(parsed.dimensions ?? nativeDimensions, nativeDimensions);
      return new OnnxEmbedder(parsed.model, dimensions, session, tokenizer, parsed, nativeDimensions);
    } catch (error) {
      throw describeLoadFailure(resolved, error);
    }
  }

  /** Tokenises one batch into onnxruntime feeds (exposed for the throughput benchmark). */
  encode(texts: readonly string[]): EncodedBatch {
    const encoded = this.tokenizer([...texts], { padding: true, truncation: true }) as Record<
      string,
      TransformersTensor
    >;
    const ids = encoded['input_ids'] as TransformersTensor;
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of this.session.inputNames) {
      const tensor = encoded[name];
      const data =
        tensor === undefined ? new BigInt64Array((ids.data as BigInt64Array).length) : (tensor.data as BigInt64Array);
      feeds[name] = new ort.Tensor('int64', data, ids.dims);
    }
    const [rows = 0, columns = 0] = ids.dims;
    return { feeds, mask: (encoded['attention_mask'] as TransformersTensor).data as BigInt64Array, rows, columns };
  }

  /** Runs the model and mean-pools over the mask; returns full-width normalised vectors. */
  async runBatch(batch: EncodedBatch): Promise<Float32Array[]> {
    const outputs = await this.session.run(batch.feeds);
    const hidden = outputs[this.session.outputNames[0] as string] as ort.Tensor;
    const width = hidden.dims[2] ?? 0;
    const data = hidden.data as Float32Array;
    const vectors: Float32Array[] = [];
    for (let row = 0; row < batch.rows; row += 1) {
      const sum = new Float32Array(width);
      let count = 0;
      for (let position = 0; position < batch.columns; position += 1) {
        if (batch.mask[row * batch.columns + position] === 0n) continue;
        count += 1;
        const offset = (row * batch.columns + position) * width;
        for (let i = 0; i < width; i += 1) sum[i] = (sum[i] as number) + (data[offset + i] as number);
      }
      for (let i = 0; i < width; i += 1) sum[i] = (sum[i] as number) / Math.max(1, count);
      vectors.push(normalise(sum));
    }
    return vectors;
  }

  async embed(texts: readonly string[], kind: EmbeddingKind): Promise<Float32Array[]> {
    const prefixes = this.config.prefixes ?? instructionPrefixes(this.config.model);
    const prefix = kind === 'query' ? prefixes.query : prefixes.document;
    const order = texts.map((_, i) => i).sort((a, b) => (texts[a] as string).length - (texts[b] as string).length);
    const out = new Array<Float32Array>(texts.length);
    for (let first = 0; first < order.length; first += this.config.batchSize) {
      const batch = order.slice(first, first + this.config.batchSize);
      const vectors = await this.runBatch(this.encode(batch.map((i) => prefix + (texts[i] as string))));
      batch.forEach((textIndex, row) => {
        const vector = vectors[row] as Float32Array;
        out[textIndex] =
          this.dimensions < this.nativeDimensions ? normalise(vector.subarray(0, this.dimensions)) : vector;
      });
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
