import { describe, expect, it } from 'vitest';
import { computePrefixBlockHashes, CHARS_PER_TOKEN } from './prefix-hash.ts';

const BLOCK_CHARS = 16 * CHARS_PER_TOKEN;
const text = (length: number, seed = 0): string =>
  Array.from({ length }, (_, index) => String.fromCharCode(97 + ((index * 7 + seed) % 26))).join('');

describe('computePrefixBlockHashes', () => {
  it('hashes only full blocks', () => {
    expect(computePrefixBlockHashes(text(BLOCK_CHARS - 1))).toEqual([]);
    expect(computePrefixBlockHashes(text(BLOCK_CHARS))).toHaveLength(1);
    expect(computePrefixBlockHashes(text(BLOCK_CHARS * 3 + 5))).toHaveLength(3);
    expect(computePrefixBlockHashes(text(BLOCK_CHARS * 4), 8)).toHaveLength(8);
  });

  it('is deterministic and chained: a shared prefix shares exactly its blocks', () => {
    const shared = text(BLOCK_CHARS * 5);
    const a = computePrefixBlockHashes(shared + 'first user question, long enough to fill another block or two......');
    const b = computePrefixBlockHashes(shared + 'a different question entirely, also long enough to fill a block.....');
    expect(
      computePrefixBlockHashes(shared + 'first user question, long enough to fill another block or two......'),
    ).toEqual(a);
    expect(a.slice(0, 5)).toEqual(b.slice(0, 5));
    expect(a[5]).not.toBe(b[5]);
    // A change in block 0 changes every later hash, even where the text is equal again.
    const changed = computePrefixBlockHashes('X' + shared.slice(1));
    expect(changed.filter((hash, index) => hash === computePrefixBlockHashes(shared)[index])).toEqual([]);
  });

  it('hashes chat messages with role and boundaries, so moving text between messages changes the hash', () => {
    const system = text(BLOCK_CHARS * 2);
    const one = computePrefixBlockHashes([
      { role: 'system', content: system },
      { role: 'user', content: text(BLOCK_CHARS, 3) },
    ]);
    const asUser = computePrefixBlockHashes([
      { role: 'user', content: system },
      { role: 'user', content: text(BLOCK_CHARS, 3) },
    ]);
    const parts = computePrefixBlockHashes([
      { role: 'system', content: [{ type: 'text', text: system }] },
      { role: 'user', content: [{ type: 'text', text: text(BLOCK_CHARS, 3) }] },
    ]);
    expect(one.length).toBeGreaterThanOrEqual(3);
    expect(asUser[0]).not.toBe(one[0]);
    expect(parts).toEqual(one);
  });

  it('caps the work on huge prompts', () => {
    expect(computePrefixBlockHashes(text(BLOCK_CHARS * 1_000))).toHaveLength(128);
    expect(computePrefixBlockHashes(text(BLOCK_CHARS * 10), 16, { maxBlocks: 4 })).toHaveLength(4);
  });

  it('produces well-spread 53-bit ids (no collisions over many distinct prefixes)', () => {
    const seen = new Set<string>();
    for (let index = 0; index < 5_000; index++) {
      for (const hash of computePrefixBlockHashes(`prompt number ${index} `.padEnd(BLOCK_CHARS * 2, '.')))
        seen.add(hash);
    }
    expect(seen.size).toBe(10_000);
    for (const hash of seen) expect(Number.isSafeInteger(Number(hash))).toBe(true);
  });

  it('is cheap relative to a real tokenizer on a long prompt', async () => {
    const { get_encoding } = await import('tiktoken');
    const encoding = get_encoding('cl100k_base');
    // Natural-looking words: BPE on one endless "word" is pathological and would make the comparison unfair.
    const prompt = Array.from(
      { length: 1_600 },
      (_, index) => ['route', 'the', 'request', 'to', 'a', 'replica'][index % 6],
    ).join(' ');
    const rounds = 10;
    let started = performance.now();
    for (let index = 0; index < rounds; index++) computePrefixBlockHashes(prompt);
    const ours = performance.now() - started;
    started = performance.now();
    for (let index = 0; index < rounds; index++) encoding.encode(prompt);
    const tokenizer = performance.now() - started;
    encoding.free();
    expect(ours).toBeLessThan(tokenizer);
  });
});
