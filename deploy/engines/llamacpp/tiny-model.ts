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
  readKvStringArray,
  readKvUint32,
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
  /**
   * Steer sampling away from tokens that are not valid UTF-8 on their own (byte-level BPE pieces of a multi-byte
   * character) and from special tokens other than end-of-text: random weights emit such pieces freely, and
   * llama-server's chat-output parser then fails the answer ("does not match the expected peg-native format").
   * Off, the model shows that engine behaviour (the tests of error events use it).
   */
  cleanText: boolean;
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
  cleanText: true,
};

export function tinyModelFileName(shape: TinyModelShape = TINY_MODEL_SHAPE): string {
  const variant = shape.cleanText ? 'clean' : 'raw';
  return `tiny-llama-e${shape.embedding}-l${shape.layers}-h${shape.heads}-kv${shape.kvHeads}-ff${shape.feedForward}-s${shape.seed}-${variant}.gguf`;
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

/** GPT-2 byte-level BPE: each byte is written as one printable code point; this maps them back. */
function byteLevelDecoder(): Map<number, number> {
  const printable: number[] = [];
  for (let byte = 33; byte <= 126; byte++) printable.push(byte);
  for (let byte = 161; byte <= 172; byte++) printable.push(byte);
  for (let byte = 174; byte <= 255; byte++) printable.push(byte);
  const decoder = new Map<number, number>(printable.map((byte) => [byte, byte]));
  let next = 256;
  for (let byte = 0; byte < 256; byte++) if (!printable.includes(byte)) decoder.set(next++, byte);
  return decoder;
}

/**
 * Tokens to keep out of generated text: byte sequences that are not valid UTF-8 by themselves, and special tokens
 * (type 3 = control) except the end-of-generation ones, which stay possible.
 */
export function tokensToAvoid(
  tokens: readonly string[],
  types: readonly number[],
  keep: ReadonlySet<number>,
): Set<number> {
  const decoder = byteLevelDecoder();
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const avoid = new Set<number>();
  tokens.forEach((token, id) => {
    if (keep.has(id)) return;
    if (types[id] === 3) {
      avoid.add(id);
      return;
    }
    const bytes: number[] = [];
    for (const char of token) {
      const byte = decoder.get(char.codePointAt(0)!);
      if (byte === undefined) return; // not byte-level text (user-defined token): leave it
      bytes.push(byte);
    }
    try {
      utf8.decode(Uint8Array.from(bytes));
    } catch {
      avoid.add(id);
    }
  });
  return avoid;
}

function onesF32(length: number): Buffer {
  return Buffer.from(new Float32Array(length).fill(1).buffer);
}

/**
 * Generates the model at `outFile` unless it exists; returns the path. The vocab file's tokenizer KVs (tokens,
 * types, merges, BOS/EOS, pre-tokenizer) are copied as they are; architecture KVs and tensors are this shape's.
 */
export function generateTinyModel(
  vocabFile: string,
  outFile: string,
  shape: TinyModelShape = TINY_MODEL_SHAPE,
): string {
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
  const f16 = (name: string, dims: number[]): TensorSpec => ({
    name,
    dims,
    type: TensorType.F16,
    data: randomF16(dims, random, shape.scale),
  });
  const embeddings = f16('token_embd.weight', [shape.embedding, vocabSize]);
  const steer = shape.cleanText ? cleanTextSteering(tokenizer, vocabSize) : undefined;
  if (steer) {
    // Dimension 0 of every embedding marks the token: +1 allowed, −1 avoided. Nothing writes to dimension 0 of the
    // residual stream (the rows below are zero), so the hidden state keeps the +1 of the allowed token it was fed,
    // and through the tied output projection allowed tokens score about 16 logits above avoided ones.
    const values = new Uint16Array(embeddings.data.buffer, embeddings.data.byteOffset, embeddings.data.length / 2);
    for (let id = 0; id < vocabSize; id++) values[id * shape.embedding] = float32ToFloat16(steer.has(id) ? -1 : 1);
  }
  /** Zeroes output row 0 of a [in, out] projection (ggml order: row `out` is `in` contiguous values). */
  const noWriteToDim0 = (tensor: TensorSpec): TensorSpec => {
    if (steer) tensor.data.fill(0, 0, tensor.dims[0]! * 2);
    return tensor;
  };
  const norm = (name: string): TensorSpec => ({
    name,
    dims: [shape.embedding],
    type: TensorType.F32,
    data: onesF32(shape.embedding),
  });
  // No output.weight: llama.cpp ties the output projection to the token embeddings, halving the file.
  const tensors: TensorSpec[] = [embeddings, norm('output_norm.weight')];
  for (let layer = 0; layer < shape.layers; layer++) {
    const block = `blk.${layer}`;
    tensors.push(
      norm(`${block}.attn_norm.weight`),
      f16(`${block}.attn_q.weight`, [shape.embedding, shape.embedding]),
      f16(`${block}.attn_k.weight`, [shape.embedding, kvWidth]),
      f16(`${block}.attn_v.weight`, [shape.embedding, kvWidth]),
      noWriteToDim0(f16(`${block}.attn_output.weight`, [shape.embedding, shape.embedding])),
      norm(`${block}.ffn_norm.weight`),
      f16(`${block}.ffn_gate.weight`, [shape.embedding, shape.feedForward]),
      f16(`${block}.ffn_up.weight`, [shape.embedding, shape.feedForward]),
      noWriteToDim0(f16(`${block}.ffn_down.weight`, [shape.feedForward, shape.embedding])),
    );
  }
  mkdirSync(dirname(outFile), { recursive: true });
  // Written beside and renamed: a reader never sees a half-written model.
  const partial = join(dirname(outFile), `.${process.pid}.${Date.now()}.partial`);
  writeGguf(partial, kvs, tensors);
  renameSync(partial, outFile);
  return outFile;
}

function cleanTextSteering(tokenizer: readonly RawKv[], vocabSize: number): Set<number> {
  const tokens = readKvStringArray(tokenizer.find((kv) => kv.key === 'tokenizer.ggml.tokens'));
  const typesKv = tokenizer.find((kv) => kv.key === 'tokenizer.ggml.token_type');
  if (!tokens || !typesKv || tokens.length !== vocabSize) throw new Error('the vocab file has no readable token list');
  // int32 array: element type, count, then the values.
  const types = Array.from({ length: vocabSize }, (_, id) => typesKv.raw.readInt32LE(12 + id * 4));
  const keep = new Set<number>();
  for (const key of ['tokenizer.ggml.eos_token_id', 'tokenizer.ggml.eot_token_id']) {
    const id = readKvUint32(tokenizer.find((kv) => kv.key === key));
    if (id !== undefined) keep.add(id);
  }
  return tokensToAvoid(tokens, types, keep);
}
