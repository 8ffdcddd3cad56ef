// Scale: ingest and query up to 1M chunks through the product's own path (retrieval-scale-run.ts), one size after the
// other, and print per size: ingest rate, memory per chunk beyond the raw vectors (with its breakdown), snapshot size
// and load time, p50/p99 per mode, BM25 MaxScore against exhaustive scoring on the same queries (speed-up and how many
// top-10 lists are identical), and HNSW recall@10 against exact search — with PASS/FAIL against the targets
// (hybrid p50 ≤ 10 ms, ≤ 2 KB per chunk beyond the vectors).
//   nice -n 10 node --expose-gc --max-old-space-size=6144 --import tsx benchmarks/retrieval-scale.ts \
//     --chunks 100000,300000 [--queries 500] [--recall-queries 100] [--m 16] [--ef-construction 200] [--ef 64]
import { loadavg } from 'node:os';
import { HnswConfigSchema } from '../retrieval/indexes/hnsw.ts';
import { flag, round } from './retrieval-shared.ts';
import { runScale, SCALE_DIMENSIONS, type ScaleResult } from './retrieval-scale-run.ts';

const HYBRID_P50_TARGET_MS = 10;
const BYTES_PER_CHUNK_TARGET = 2048;

const listAt = Math.max(process.argv.indexOf('--chunks'), process.argv.indexOf('--sizes'));
const sizes = (listAt === -1 ? '100000,300000,1000000' : (process.argv[listAt + 1] ?? '')).split(',').map(Number);
if (sizes.some((size) => !Number.isInteger(size) || size < 100 || size > 2_000_000)) {
  console.error('--chunks takes comma-separated sizes between 100 and 2,000,000');
  process.exit(2);
}
// Unset flags take the product's defaults (HnswConfigSchema), so the run measures what `switchyard ingest` builds.
const hnswDefaults = HnswConfigSchema.parse({});
const hnsw = {
  m: flag('m', hnswDefaults.m),
  efConstruction: flag('ef-construction', hnswDefaults.efConstruction),
  ef: flag('ef', hnswDefaults.ef),
};
const queries = flag('queries', 500);
const recallQueries = flag('recall-queries', 100);
const gc = (globalThis as { gc?: () => void }).gc;
const mb = (bytes: number) => round(bytes / 1e6, 1);
const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
const osLoad = () =>
  loadavg()
    .map((value) => value.toFixed(1))
    .join(' / ');
const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

console.log(
  `scale benchmark: ${sizes.join(', ')} chunks, ${SCALE_DIMENSIONS}-d vectors, ${queries} queries per mode, ` +
    `HNSW M ${hnsw.m} efConstruction ${hnsw.efConstruction} ef ${hnsw.ef}; load average ${osLoad()}` +
    (gc ? '' : ' (run with --expose-gc for memory figures)'),
);

const rows: { result: ScaleResult; line: string[] }[] = [];
for (const chunks of sizes) {
  console.log(`\n== ${chunks} chunks`);
  const result = await runScale({
    chunks,
    queries,
    recallQueries,
    hnsw,
    ...(gc === undefined ? {} : { gc }),
    progress: (line) => process.stderr.write(`  ${line}\n`),
  });
  const vectorBytes = SCALE_DIMENSIONS * 4;
  const perChunk = result.memory.rss / chunks;
  const beyond = perChunk - vectorBytes;
  const speedup = mean(result.bm25.exhaustive) / mean(result.bm25.pruned);
  console.log(
    `ingest ${round(chunks / result.ingestSeconds, 0)} chunks/s wall, ${round(chunks / result.ingestCpuSeconds, 0)} per CPU-s ` +
      `(${round(result.ingestSeconds, 0)} s wall, ${round(result.ingestCpuSeconds, 0)} CPU-s)`,
  );
  console.log(
    `memory: RSS +${mb(result.memory.rss)} MB = ${round(perChunk, 0)} B/chunk, ${round(beyond, 0)} B beyond the ${vectorBytes} B vector; ` +
      `SQLite store ${round(result.storeBytes / chunks, 0)} B/chunk, JS heap ${round(result.memory.heapUsed / chunks, 0)} B/chunk, ` +
      `typed arrays ${round(result.memory.arrayBuffers / chunks, 0)} B/chunk, native rest (HNSW graph + vectors, allocator) ` +
      `${round((result.memory.rss - result.storeBytes - result.memory.heapUsed - result.memory.arrayBuffers) / chunks, 0)} B/chunk; ` +
      `BM25 ${result.bm25Postings} postings (${round(result.bm25Postings / chunks, 1)}/chunk), ${result.bm25Vocabulary} terms`,
  );
  console.log(
    `snapshot ${mb(result.snapshotBytes)} MB (${Object.entries(result.snapshotFiles)
      .map(([name, bytes]) => `${name} ${mb(bytes)}`)
      .join(', ')}), ` +
      `save ${round(result.saveSeconds, 1)} s, load ${round(result.loadSeconds, 1)} s wall / ${round(result.loadCpuSeconds, 1)} CPU-s`,
  );
  for (const [mode, figures] of Object.entries(result.latency)) {
    console.log(
      `${mode.padEnd(8)} p50 ${round(figures.p50, 2)} ms, p99 ${round(figures.p99, 2)} ms (CPU p50 ${round(figures.cpuP50, 2)} ms)`,
    );
  }
  console.log(
    `BM25 top 10: MaxScore p50 ${round(median(result.bm25.pruned), 3)} / mean ${round(mean(result.bm25.pruned), 3)} ms, ` +
      `exhaustive p50 ${round(median(result.bm25.exhaustive), 3)} / mean ${round(mean(result.bm25.exhaustive), 3)} ms → ${round(speedup, 2)}× (mean); ` +
      `identical top 10 on ${result.bm25.identicalTop10}/${result.bm25.compared} queries`,
  );
  console.log(
    `HNSW recall@10 ${round(result.recall.recallAt10, 3)} on ${result.recall.queries} queries against exact search ` +
      `(${round(result.recall.exactMsPerQuery, 0)} ms per exact query); snapshot round trip: ${result.roundTrip.identical}/${result.roundTrip.queries} ` +
      `answers identical, ${result.storeRoundTrip.identical}/${result.storeRoundTrip.checked} chunks identical; peak RSS ${mb(result.peakRssBytes)} MB; ` +
      `load average ${osLoad()}`,
  );
  const hybridPass = result.latency.hybrid.p50 <= HYBRID_P50_TARGET_MS;
  const memoryPass = beyond <= BYTES_PER_CHUNK_TARGET;
  rows.push({
    result,
    line: [
      chunks.toLocaleString('en-US'),
      `${round(chunks / result.ingestCpuSeconds, 0)} (${round(chunks / result.ingestSeconds, 0)} wall)`,
      `${round(beyond, 0)} B ${memoryPass ? 'PASS' : 'FAIL'}`,
      `${mb(result.snapshotBytes)} MB`,
      `${round(result.loadSeconds, 1)} s`,
      ...(['lexical', 'vector'] as const).map(
        (mode) => `${round(result.latency[mode].p50, 2)} / ${round(result.latency[mode].p99, 1)}`,
      ),
      `${round(result.latency.hybrid.p50, 2)} / ${round(result.latency.hybrid.p99, 1)} ${hybridPass ? 'PASS' : 'FAIL'}`,
      `${round(speedup, 2)}× (${result.bm25.identicalTop10}/${result.bm25.compared} identical)`,
      `${round(result.recall.recallAt10, 3)}`,
    ],
  });
}
console.log(
  '\n| chunks | ingest chunks per CPU-s (wall) | memory beyond vectors (≤ 2 KB) | snapshot | load | lexical p50 / p99 ms | vector p50 / p99 | hybrid p50 / p99 (p50 ≤ 10 ms) | BM25 MaxScore vs exhaustive, top 10 | HNSW recall@10 |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const row of rows) console.log(`| ${row.line.join(' | ')} |`);
