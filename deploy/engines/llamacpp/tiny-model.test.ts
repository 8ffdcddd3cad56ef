// The tiny-model generator on a small synthetic vocab file (the real one is llama.cpp's Llama 3 BPE vocab, read by
// the real-engine suites): tokenizer KVs copied, Llama architecture KVs and tensors written, clean-text steering.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ValueType,
  kvString,
  kvUint32,
  readGgufMetadata,
  readKvString,
  readKvUint32,
  writeGguf,
  type RawKv,
} from './gguf.ts';
import { TINY_MODEL_SHAPE, generateTinyModel, tinyModelFileName, tokensToAvoid } from './tiny-model.ts';

const dir = mkdtempSync(join(tmpdir(), 'tiny-model-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function arrayKv(key: string, elementType: ValueType, values: Buffer[]): RawKv {
  const head = Buffer.alloc(12);
  head.writeUInt32LE(elementType, 0);
  head.writeBigUInt64LE(BigInt(values.length), 4);
  return { key, type: ValueType.Array, raw: Buffer.concat([head, ...values]) };
}
const str = (value: string): Buffer => {
  const bytes = Buffer.from(value);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(bytes.length));
  return Buffer.concat([length, bytes]);
};
const i32 = (value: number): Buffer => {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32LE(value);
  return buffer;
};

// Byte-level BPE spellings: "Ġ" is a space, "å" alone is the lead byte 0xE5 of a three-byte character.
const TOKENS = [
  'hello',
  'Ġworld',
  'å',
  'ä½ł',
  '<|begin_of_text|>',
  '<|end_of_text|>',
  ...Array.from({ length: 58 }, (_, index) => `t${index}`),
];
const TYPES = [1, 1, 1, 1, 3, 3, ...Array.from({ length: 58 }, () => 1)];

describe('tiny Llama GGUF', () => {
  it('avoids partial UTF-8 pieces and control tokens, but keeps end-of-text possible', () => {
    const avoid = tokensToAvoid(TOKENS, TYPES, new Set([5]));
    expect([...avoid].sort()).toEqual([2, 4]);
  });

  it('copies the tokenizer, writes the architecture and steers sampling through embedding dimension 0', () => {
    const vocab = join(dir, 'vocab.gguf');
    writeGguf(
      vocab,
      [
        kvString('general.architecture', 'llama'),
        kvString('tokenizer.ggml.model', 'gpt2'),
        arrayKv('tokenizer.ggml.tokens', ValueType.String, TOKENS.map(str)),
        arrayKv('tokenizer.ggml.token_type', ValueType.Int32, TYPES.map(i32)),
        kvUint32('tokenizer.ggml.eos_token_id', 5),
      ],
      [],
    );
    const shape = { ...TINY_MODEL_SHAPE, layers: 1 };
    const out = join(dir, tinyModelFileName(shape));
    generateTinyModel(vocab, out, shape);
    const file = readFileSync(out);
    const metadata = readGgufMetadata(file);
    const kv = (key: string): RawKv | undefined => metadata.kvs.find((entry) => entry.key === key);
    expect(readKvString(kv('general.architecture'))).toBe('llama');
    expect(readKvUint32(kv('llama.vocab_size'))).toBe(TOKENS.length);
    expect(readKvUint32(kv('llama.attention.head_count'))).toBe(4);
    expect(readKvString(kv('tokenizer.ggml.model'))).toBe('gpt2');
    // token_embd, output_norm, and nine tensors per layer; no separate output projection (tied).
    expect(metadata.tensorCount).toBe(2 + 9);
    // Same shape and seed → the same file, which is reused rather than rewritten.
    const before = statSync(out).mtimeMs;
    generateTinyModel(vocab, out, shape);
    expect(statSync(out).mtimeMs).toBe(before);
    expect(tinyModelFileName({ ...shape, cleanText: false })).not.toBe(tinyModelFileName(shape));
  });
});
