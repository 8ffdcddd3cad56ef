// Scale: ingest and query n chunks through the product's own path — RetrievalIndex.upsertDocument (chunker, SQLite
// chunk store, BM25, HNSW), save() snapshots, RetrievalIndex.open() loads, search() for lexical / vector / hybrid —
// with synthetic Zipf text and 384-d clustered vectors handed over by a precomputed embedder (no model calls, by
// design). Runs each size in --sizes in turn and prints the scaling, so a run that cannot reach 1M on the machine
// still shows the trend. BM25: MaxScore (opt-in) against exhaustive term-at-a-time (the default) on the same queries,
// alternating, in the same run.
//   nice -n 10 node --expose-gc --import tsx benchmarks/retrieval-scale.ts [--sizes 100000,250000,1000000] [--queries 500]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Embedder, EmbeddingKind } from '../retrieval/contracts.ts';
import { createChunker } from '../retrieval/chunkers/registry.ts';
import { RetrievalIndex } from '../retrieval/retrieval-index.ts';
import { clusteredVectors, flag, percentile, round, syntheticDocuments, syntheticQueries } from './retrieval-shared.ts';

const sizesAt = process.argv.indexOf('--sizes');
const sizes = (sizesAt === -1 ? '100000,250000,1000000' : (process.argv[sizesAt + 1] ?? '')).split(',').map(Number);
const queryCount = flag('queries', 500);
const DIMS = 384;
const gc = (globalThis as { gc?: () => void }).gc;
const settle = () => {
  gc?.();
  gc?.();
};
const mb = (bytes: number) => round(bytes / 1e6, 1);

/** Vector i for the chunk of document i (its embedded text starts with the title "Document i"). */
class PrecomputedEmbedder implements Embedder {
  readonly modelId = 'precomputed-384';
  readonly dimensions = DIMS;
  constructor(
    private readonly documents: readonly Float32Array[],
    private readonly queries: Map<string, Float32Array>,
  ) {}
  embed(texts: readonly string[], _kind: EmbeddingKind): Promise<Float32Array[]> {
    return Promise.resolve(
      texts.map((text) => {
        const match = /^Document (\d+)\n/.exec(text);
        return match === null ? (this.queries.get(text) as Float32Array) : (this.documents[Number(match[1])] as Float32Array);
      }),
    );
  }
  dispose(): Promise<void> {
    return Promise.resolve();
  }
}

console.log(`scale benchmark: sizes ${sizes.join(', ')}, ${DIMS}-d vectors, ${queryCount} queries per mode${gc ? '' : ' (run with --expose-gc for memory figures)'}`);
const summary: string[] = [];
for (const n of sizes) {
  const started = performance.now();
  const texts = syntheticDocuments(n, 11);
  const vectors = clusteredVectors(n, DIMS, 1);
  const queries = syntheticQueries(queryCount, 12);
  const queryVectors = clusteredVectors(queryCount, DIMS, 2);
  const embedder = new PrecomputedEmbedder(vectors, new Map(queries.map((query, i) => [query, queryVectors[i] as Float32Array])));
  console.log(`\n== ${n} chunks (data generated in ${round((performance.now() - started) / 1000, 1)} s)`);
  settle();
  const before = process.memoryUsage();
  const directory = mkdtempSync(join(tmpdir(), `switchyard-scale-${n}-`));
  try {
    const index = await RetrievalIndex.open({ directory, create: true, writable: true, embedder, hnsw: { initialCapacity: n } });
    const chunker = createChunker('fixed', {});
    let cpu = process.cpuUsage();
    const ingestStarted = performance.now();
    for (let i = 0; i < n; i += 1) {
      await index.upsertDocument(
        { id: `doc-${i}`, title: `Document ${i}`, text: texts[i] as string, format: 'text', sourcePath: `/corpus/doc-${i}.txt`, lastModified: 0, metadata: {} },
        chunker,
      );
      if (i % 20_000 === 0) process.stderr.write(`\r  ingest ${i}/${n}`);
    }
    process.stderr.write('\n');
    const ingestSeconds = (performance.now() - ingestStarted) / 1000;
    const ingestCpu = process.cpuUsage(cpu);
    settle();
    const after = process.memoryUsage();
    const vectorBytes = n * DIMS * 4;
    const perChunk = (after.rss - before.rss) / n;
    const beyondVectors = (after.rss - before.rss - vectorBytes) / n;
    console.log(
      `ingest: ${round(n / ingestSeconds, 0)} chunks/s wall, ${round(n / ((ingestCpu.user + ingestCpu.system) / 1e6), 0)} per CPU-s; ` +
        `memory ${round(perChunk, 0)} B/chunk (RSS), ${round(beyondVectors, 0)} B/chunk beyond the ${DIMS * 4} B of raw vector (heap ${mb(after.heapUsed - before.heapUsed)} MB)`,
    );
    let saveStarted = performance.now();
    const manifest = await index.save();
    const saveSeconds = (performance.now() - saveStarted) / 1000;
    const files = [manifest.files.store, manifest.files.bm25, manifest.files.hnsw].filter((entry) => entry !== null);
    const snapshotBytes = files.reduce((sum, entry) => sum + statSync(join(directory, entry.name)).size, 0);
    index.close();
    saveStarted = performance.now();
    const loaded = await RetrievalIndex.open({ directory, embedder });
    const loadSeconds = (performance.now() - saveStarted) / 1000;
    console.log(`snapshot: ${mb(snapshotBytes)} MB in ${files.length} files (${round(snapshotBytes / n, 0)} B/chunk), save ${round(saveSeconds, 1)} s, load ${round(loadSeconds, 1)} s`);

    const line: string[] = [`${n}`, `${round(n / ingestSeconds, 0)}/s`, `${round(beyondVectors, 0)} B`, `${mb(snapshotBytes)} MB`, `${round(loadSeconds, 1)} s`];
    for (const mode of ['lexical', 'vector', 'hybrid'] as const) {
      const wall: number[] = [];
      const cpuMs: number[] = [];
      for (const [i, query] of queries.entries()) {
        cpu = process.cpuUsage();
        const t = performance.now();
        await loaded.search({ query, mode, topK: 5, candidates: 50 });
        const used = process.cpuUsage(cpu);
        if (i < 20) continue;
        wall.push(performance.now() - t);
        cpuMs.push((used.user + used.system) / 1000);
      }
      console.log(`${mode.padEnd(8)} p50 ${round(percentile(wall, 50), 2)} ms, p99 ${round(percentile(wall, 99), 2)} ms (CPU p50 ${round(percentile(cpuMs, 50), 2)} ms)`);
      line.push(`${round(percentile(wall, 50), 2)}/${round(percentile(wall, 99), 2)}`);
    }
    // BM25 alone, top 50: MaxScore vs exhaustive, alternating per query.
    const timings = { pruned: [] as number[], exhaustive: [] as number[] };
    for (const [i, query] of queries.entries()) {
      for (const pruning of i % 2 === 0 ? [true, false] : [false, true]) {
        loaded.bm25.pruning = pruning;
        const t = performance.now();
        loaded.bm25.search(query, 50);
        if (i >= 20) timings[pruning ? 'pruned' : 'exhaustive'].push(performance.now() - t);
      }
    }
    loaded.bm25.pruning = false;
    const p50 = (values: number[]) => percentile(values, 50);
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
    console.log(
      `BM25 top 50: MaxScore p50 ${round(p50(timings.pruned), 3)} ms / mean ${round(mean(timings.pruned), 3)} ms, ` +
        `exhaustive p50 ${round(p50(timings.exhaustive), 3)} ms / mean ${round(mean(timings.exhaustive), 3)} ms → ` +
        `${round(mean(timings.exhaustive) / mean(timings.pruned), 2)}× (mean)`,
    );
    line.push(`${round(mean(timings.exhaustive) / mean(timings.pruned), 2)}×`);
    summary.push(line.join(' | '));
    loaded.close();
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  console.log('\nchunks | ingest | memory beyond vectors | snapshot | load | lexical p50/p99 ms | vector | hybrid | BM25 MaxScore speed-up');
  for (const row of summary) console.log(row);
}
