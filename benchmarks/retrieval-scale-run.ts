// One scale run through the product's own path: RetrievalIndex.upsertDocument (fixed chunker, SQLite chunk store,
// BM25, HNSW) one document at a time as `switchyard ingest` does, save() snapshots, RetrievalIndex.open() loads,
// search() for lexical / vector / hybrid as /v1/retrieve does. Synthetic Zipf text and 384-d clustered vectors handed
// over by a precomputed embedder (no model calls, by design). Used by retrieval-scale.ts (sizes up to 1M) and by
// retrieval-scale.test.ts (2k chunks: the same code path, checked for equal results).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Chunk, Embedder, EmbeddingKind } from '../retrieval/contracts.ts';
import { createChunker } from '../retrieval/chunkers/registry.ts';
import { RetrievalIndex } from '../retrieval/retrieval-index.ts';
import { TopK } from '../retrieval/search/top-k.ts';
import { clusteredVectors, percentile, syntheticDocuments, syntheticQueries } from './retrieval-shared.ts';

export const SCALE_DIMENSIONS = 384;
const MODES = ['lexical', 'vector', 'hybrid'] as const;
export type ScaleMode = (typeof MODES)[number];

/** Vector i for the chunk of document i (its embedded text starts with the title "Document i"). */
export class PrecomputedEmbedder implements Embedder {
  readonly modelId = 'precomputed-384';
  readonly dimensions = SCALE_DIMENSIONS;
  constructor(
    private readonly documents: readonly Float32Array[],
    private readonly queries: Map<string, Float32Array>,
  ) {}
  embed(texts: readonly string[], _kind: EmbeddingKind): Promise<Float32Array[]> {
    return Promise.resolve(
      texts.map((text) => {
        const match = /^Document (\d+)\n/.exec(text);
        const vector = match === null ? this.queries.get(text) : this.documents[Number(match[1])];
        if (vector === undefined) throw new Error(`no precomputed vector for ${text.slice(0, 40)}`);
        return vector;
      }),
    );
  }
  dispose(): Promise<void> {
    return Promise.resolve();
  }
}

export interface ScaleOptions {
  chunks: number;
  queries: number;
  /** Queries whose HNSW top 10 is checked against exact search over all vectors. */
  recallQueries: number;
  hnsw: { m: number; efConstruction: number; ef: number };
  gc?: () => void;
  progress?: (line: string) => void;
}

export interface MemoryFigures {
  rss: number;
  heapUsed: number;
  arrayBuffers: number;
  external: number;
}

export interface ScaleResult {
  chunks: number;
  ingestSeconds: number;
  ingestCpuSeconds: number;
  /** Memory grown by the ingest (after GC), whole process. */
  memory: MemoryFigures;
  /** SQLite pages of the chunk store. */
  storeBytes: number;
  bm25Vocabulary: number;
  bm25Postings: number;
  snapshotBytes: number;
  snapshotFiles: Record<string, number>;
  saveSeconds: number;
  loadSeconds: number;
  loadCpuSeconds: number;
  latency: Record<ScaleMode, { p50: number; p99: number; cpuP50: number }>;
  /** The same queries answered by the writer and by the index loaded from its snapshot. */
  roundTrip: { queries: number; identical: number };
  /** Chunks fetched from both stores, compared field by field. */
  storeRoundTrip: { checked: number; identical: number };
  bm25: { pruned: number[]; exhaustive: number[]; identicalTop10: number; compared: number };
  recall: { queries: number; recallAt10: number; exactMsPerQuery: number };
  peakRssBytes: number;
}

function exactTop10(vectors: readonly Float32Array[], query: Float32Array): number[] {
  const top = new TopK(10);
  for (let row = 0; row < vectors.length; row += 1) {
    const vector = vectors[row] as Float32Array;
    let dot = 0;
    for (let i = 0; i < vector.length; i += 1) dot += (vector[i] as number) * (query[i] as number);
    top.offer(row, dot);
  }
  return top.result().map((hit) => hit.key);
}

async function answers(index: RetrievalIndex, queries: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const query of queries) {
    for (const mode of MODES) {
      const response = await index.search({ query, mode, topK: 5, candidates: 50 });
      out.push(response.hits.map((hit) => `${hit.chunkId}:${hit.score.toFixed(6)}`).join(','));
    }
  }
  return out;
}

/**
 * Ingests and queries 50 documents in a throwaway index first, so the memory measured afterwards is the index's and
 * not the one-off cost of loading SQLite, hnswlib, the tokenizer and the analyzer (~40 MB, 2 KB per chunk at 20k).
 */
async function warmUp(embedder: Embedder, texts: readonly string[], query: string): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'switchyard-scale-warm-'));
  try {
    const index = await RetrievalIndex.open({
      directory,
      create: true,
      writable: true,
      embedder,
      hnsw: { initialCapacity: 64 },
    });
    const chunker = createChunker('fixed', {});
    for (let i = 0; i < Math.min(50, texts.length); i += 1) {
      await index.upsertDocument(
        {
          id: `doc-${i}`,
          title: `Document ${i}`,
          text: texts[i] as string,
          format: 'text',
          sourcePath: `/w/${i}`,
          lastModified: 0,
          metadata: {},
        },
        chunker,
      );
    }
    for (const mode of MODES) await index.search({ query, mode, topK: 5, candidates: 50 });
    await index.save();
    index.close();
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

export async function runScale(options: ScaleOptions): Promise<ScaleResult> {
  const n = options.chunks;
  const log = options.progress ?? (() => undefined);
  const settle = () => {
    options.gc?.();
    options.gc?.();
  };
  const texts = syntheticDocuments(n, 11);
  const vectors = clusteredVectors(n, SCALE_DIMENSIONS, 1);
  const queries = syntheticQueries(options.queries, 12);
  const queryVectors = clusteredVectors(options.queries, SCALE_DIMENSIONS, 2);
  const embedder = new PrecomputedEmbedder(
    vectors,
    new Map(queries.map((query, i) => [query, queryVectors[i] as Float32Array])),
  );
  await warmUp(embedder, texts, queries[0] ?? 'warm');
  settle();
  const before = process.memoryUsage();
  const directory = mkdtempSync(join(tmpdir(), `switchyard-scale-${n}-`));
  try {
    let writer: RetrievalIndex | null = await RetrievalIndex.open({
      directory,
      create: true,
      writable: true,
      embedder,
      hnsw: { initialCapacity: n, m: options.hnsw.m, efConstruction: options.hnsw.efConstruction, ef: options.hnsw.ef },
    });
    const chunker = createChunker('fixed', {});
    const cpuAtIngest = process.cpuUsage();
    const ingestStarted = performance.now();
    for (let i = 0; i < n; i += 1) {
      await writer.upsertDocument(
        {
          id: `doc-${i}`,
          title: `Document ${i}`,
          text: texts[i] as string,
          format: 'text',
          sourcePath: `/corpus/doc-${i}.txt`,
          lastModified: 0,
          metadata: {},
        },
        chunker,
      );
      if (i > 0 && i % 10_000 === 0) {
        const seconds = (performance.now() - ingestStarted) / 1000;
        log(`ingest ${i}/${n}: ${Math.round(i / seconds)} chunks/s wall`);
      }
    }
    const ingestSeconds = (performance.now() - ingestStarted) / 1000;
    const ingestCpu = process.cpuUsage(cpuAtIngest);
    settle();
    const after = process.memoryUsage();
    const storeBytes = writer.store.byteSize();
    const bm25Vocabulary = writer.bm25.vocabularySize;
    const bm25Postings = writer.bm25.postingCount;

    const probe = queries.slice(0, Math.min(50, queries.length));
    const written = await answers(writer, probe);
    const sampleKeys = Array.from(
      { length: Math.min(200, n) },
      (_value, i) => 1 + Math.floor((i * n) / Math.min(200, n)),
    );
    const writtenChunks = writer.store.chunks(sampleKeys);

    const saveStarted = performance.now();
    const manifest = await writer.save();
    const saveSeconds = (performance.now() - saveStarted) / 1000;
    const files = [manifest.files.store, manifest.files.bm25, manifest.files.hnsw].filter((entry) => entry !== null);
    const snapshotFiles = Object.fromEntries(
      files.map((entry) => [
        (entry.name.split('/').at(-1) ?? entry.name).split('.')[0] as string,
        statSync(join(directory, entry.name)).size,
      ]),
    );
    const snapshotBytes = Object.values(snapshotFiles).reduce((sum, bytes) => sum + bytes, 0);
    writer.close();
    writer = null;
    settle();
    log(`saved ${Math.round(snapshotBytes / 1e6)} MB in ${saveSeconds.toFixed(1)} s; loading`);

    const cpuAtLoad = process.cpuUsage();
    const loadStarted = performance.now();
    const loaded = await RetrievalIndex.open({ directory, embedder });
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const loadCpu = process.cpuUsage(cpuAtLoad);
    try {
      const reread = await answers(loaded, probe);
      const loadedChunks = loaded.store.chunks(sampleKeys);
      const same = (a: Chunk | undefined, b: Chunk | undefined) =>
        a !== undefined && JSON.stringify(a) === JSON.stringify(b);

      const latency = {} as ScaleResult['latency'];
      for (const mode of MODES) {
        const wall: number[] = [];
        const cpuMs: number[] = [];
        for (const [i, query] of queries.entries()) {
          const cpu = process.cpuUsage();
          const t = performance.now();
          await loaded.search({ query, mode, topK: 5, candidates: 50 });
          const used = process.cpuUsage(cpu);
          if (i < 20 && queries.length > 40) continue; // warm-up
          wall.push(performance.now() - t);
          cpuMs.push((used.user + used.system) / 1000);
        }
        latency[mode] = { p50: percentile(wall, 50), p99: percentile(wall, 99), cpuP50: percentile(cpuMs, 50) };
        log(`${mode}: p50 ${latency[mode].p50.toFixed(2)} ms, p99 ${latency[mode].p99.toFixed(2)} ms`);
      }

      // BM25 alone, top 10: MaxScore against exhaustive term-at-a-time, alternating which goes first, same queries.
      const bm25 = { pruned: [] as number[], exhaustive: [] as number[], identicalTop10: 0, compared: 0 };
      for (const [i, query] of queries.entries()) {
        const keys: Record<'pruned' | 'exhaustive', string> = { pruned: '', exhaustive: '' };
        for (const pruning of i % 2 === 0 ? [true, false] : [false, true]) {
          loaded.bm25.pruning = pruning;
          const t = performance.now();
          const hits = loaded.bm25.search(query, 10);
          const elapsed = performance.now() - t;
          const name = pruning ? 'pruned' : 'exhaustive';
          if (i >= 20 || queries.length <= 40) bm25[name].push(elapsed);
          keys[name] = hits.map((hit) => hit.key).join(',');
        }
        bm25.compared += 1;
        if (keys.pruned === keys.exhaustive) bm25.identicalTop10 += 1;
      }
      loaded.bm25.pruning = false;

      const hnsw = loaded.hnsw;
      let found = 0;
      let exactMs = 0;
      const recallQueries = Math.min(options.recallQueries, queryVectors.length);
      for (let q = 0; q < recallQueries && hnsw !== null; q += 1) {
        const query = queryVectors[q] as Float32Array;
        const t = performance.now();
        const exact = new Set(exactTop10(vectors, query).map((row) => row + 1)); // chunk key = document index + 1
        exactMs += performance.now() - t;
        for (const hit of hnsw.search(query, 10)) if (exact.has(hit.key)) found += 1;
      }
      return {
        chunks: n,
        ingestSeconds,
        ingestCpuSeconds: (ingestCpu.user + ingestCpu.system) / 1e6,
        memory: {
          rss: after.rss - before.rss,
          heapUsed: after.heapUsed - before.heapUsed,
          arrayBuffers: after.arrayBuffers - before.arrayBuffers,
          external: after.external - before.external,
        },
        storeBytes,
        bm25Vocabulary,
        bm25Postings,
        snapshotBytes,
        snapshotFiles,
        saveSeconds,
        loadSeconds,
        loadCpuSeconds: (loadCpu.user + loadCpu.system) / 1e6,
        latency,
        roundTrip: { queries: written.length, identical: written.filter((line, i) => line === reread[i]).length },
        storeRoundTrip: {
          checked: sampleKeys.length,
          identical: sampleKeys.filter((key) => same(writtenChunks.get(key), loadedChunks.get(key))).length,
        },
        bm25,
        recall: {
          queries: recallQueries,
          recallAt10: recallQueries === 0 ? Number.NaN : found / (recallQueries * 10),
          exactMsPerQuery: exactMs / Math.max(1, recallQueries),
        },
        peakRssBytes: process.resourceUsage().maxRSS * 1024,
      };
    } finally {
      loaded.close();
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
