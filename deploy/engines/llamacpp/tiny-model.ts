// Writes a tiny Llama-architecture GGUF with random weights and a real tokenizer (the Llama 3 BPE vocab-only GGUF
// from llama.cpp's source): small enough to load in well under a second and decode hundreds of tokens per second on
// one core, so tests and the offline demo run the real engine. Nothing from elsewhere is committed: the file is
// generated on first use into the engine cache, deterministically from its shape and seed.
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  TensorType,
  kvFloat32,
  kvString,
  kvUint32,
  readGgufMetadata,
  readKvArrayLength,
  writeGguf,
  float32ToFloat16,
  type RawKv,
  type TensorSpec,
} from './gguf.ts';

export interface TinyModelShape {
  embedding: number;
  layers: number;
  heads: number;
  kvHeads: number;
  feedForward: number;
  /** Training context written into the file; llama-server's --ctx-size decides the served context. */
  contextLength: number;
  seed: number;
  /** Uniform weight range ±scale. */
  scale: number;
}

export const TINY_MODEL_SHAPE: TinyModelShape = {
  embedding: 64,
  layers: 2,
  heads: 4,
  kvHeads: 4,
  feedForward: 128,
  contextLength: 8192,
  seed: 1,
  scale: 0.08,
};

export function tinyModelFileName(shape: TinyModelShape = TINY_MODEL_SHAPE): string {
  return `tiny-llama-e${shape.embedding}-l${shape.layers}-h${shape.heads}-kv${shape.kvHeads}-ff${shape.feedForward}-s${shape.seed}.gguf`;
}

/** Small, fast, seedable PRNG (mulberry32): the same seed writes the same file. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function randomF16(dims: readonly number[], random: () => number, scale: number): Buffer {
  const count = dims.reduce((product, dim) => product * dim, 1);
  const values = new Uint16Array(count);
  for (let index = 0; index < count; index++) values[index] = float32ToFloat16((random() * 2 - 1) * scale);
  return Buffer.from(values.buffer);
}

function onesF32(length: number): Buffer {
  return Buffer.from(new Float32Array(length).fill(1).buffer);
}

/**
 * Generates the model at `outFile` unless it exists; returns the path. The vocab file's tokenizer KVs (tokens,
 * types, merges, BOS/EOS, pre-tokenizer) are copied as they are; architecture KVs and tensors are this shape's.
 */
export function generateTinyModel(vocabFile: string, outFile: string, shape: TinyModelShape = TINY_MODEL_SHAPE): string {
  if (existsSync(outFile)) return outFile;
  const vocab = readGgufMetadata(readFileSync(vocabFile));
  const tokenizer = vocab.kvs.filter((kv) => kv.key.startsWith('tokenizer.'));
  const vocabSize = readKvArrayLength(tokenizer.find((kv) => kv.key === 'tokenizer.ggml.tokens'));
  if (vocabSize === undefined) throw new Error(`${vocabFile} has no tokenizer.ggml.tokens`);
  const headDim = shape.embedding / shape.heads;
  const kvWidth = headDim * shape.kvHeads;
  const kvs: RawKv[] = [
    kvString('general.architecture', 'llama'),
    kvString('general.name', 'switchyard tiny llama (random weights)'),
    kvUint32('general.file_type', 1), // mostly F16
    kvUint32('llama.context_length', shape.contextLength),
    kvUint32('llama.embedding_length', shape.embedding),
    kvUint32('llama.block_count', shape.layers),
    kvUint32('llama.feed_forward_length', shape.feedForward),
    kvUint32('llama.attention.head_count', shape.heads),
    kvUint32('llama.attention.head_count_kv', shape.kvHeads),
    kvUint32('llama.rope.dimension_count', headDim),
    kvFloat32('llama.rope.freq_base', 500_000),
    kvFloat32('llama.attention.layer_norm_rms_epsilon', 1e-5),
    kvUint32('llama.vocab_size', vocabSize),
    ...tokenizer,
  ];
  const random = mulberry32(shape.seed);
  const f16 = (name: string, dims: number[]): TensorSpec => ({ name, dims, type: TensorType.F16, data: randomF16(dims, random, shape.scale) });
  const norm = (name: string): TensorSpec => ({ name, dims: [shape.embedding], type: TensorType.F32, data: onesF32(shape.embedding) });
  // No output.weight: llama.cpp ties the output projection to the token embeddings, halving the file.
  const tensors: TensorSpec[] = [f16('token_embd.weight', [shape.embedding, vocabSize]), norm('output_norm.weight')];
  for (let layer = 0; layer < shape.layers; layer++) {
    const block = `blk.${layer}`;
    tensors.push(
      norm(`${block}.attn_norm.weight`),
      f16(`${block}.attn_q.weight`, [shape.embedding, shape.embedding]),
      f16(`${block}.attn_k.weight`, [shape.embedding, kvWidth]),
      f16(`${block}.attn_v.weight`, [shape.embedding, kvWidth]),
      f16(`${block}.attn_output.weight`, [shape.embedding, shape.embedding]),
      norm(`${block}.ffn_norm.weight`),
      f16(`${block}.ffn_gate.weight`, [shape.embedding, shape.feedForward]),
      f16(`${block}.ffn_up.weight`, [shape.embedding, shape.feedForward]),
      f16(`${block}.ffn_down.weight`, [shape.feedForward, shape.embedding]),
    );
  }
  mkdirSync(dirname(outFile), { recursive: true });
  // Written beside and renamed: a reader never sees a half-written model.
  const partial = join(dirname(outFile), `.${process.pid}.${Date.now()}.partial`);
  writeGguf(partial, kvs, tensors);
  renameSync(partial, outFile);
  return outFile;
}
