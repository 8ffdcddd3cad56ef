// HNSW recall@10 vs queries/s for ef ∈ {10, 20, 40, 80, 160} against exact search (the baseline, measured in the
// same run) on n × d unit vectors (default 100k × 384, clustered like sentence embeddings; --uniform for uniform).
// One core: hnswlib-node answers one query at a time on the calling thread. Target: recall@10 ≥ 0.95 at ≥ 5k q/s.
//
//   npx tsx benchmarks/retrieval-hnsw.ts [--n 100000] [--dims 384] [--queries 1000] [--truth 200] [--m 16]
//                                        [--ef-construction 200] [--uniform] [--rebuild] [--ef 10,20,40,80,160]
import { performance } from 'node:perf_hooks';
import { cachedHnsw, clusteredVectors, exactTopK, flag, flatten, hasFlag, round } from './retrieval-shared.ts';

const n = flag('n', 100_000);
const dims = flag('dims', 384);
const queryCount = flag('queries', 1000);
const truthCount = flag('truth', 200);
const m = flag('m', 16);
const efConstruction = flag('ef-construction', 200);
const uniform = hasFlag('uniform');
const clusters = uniform ? 0 : 1000;
const efIndex = process.argv.indexOf('--ef');
const efValues = (efIndex === -1 ? '10,20,40,80,160' : (process.argv[efIndex + 1] ?? '')).split(',').map(Number);
if (efValues.some((ef) => !Number.isInteger(ef) || ef < 1)) throw new Error('--ef takes positive integers, e.g. --ef 10,14,20');

console.log(`HNSW benchmark: ${n} × ${dims} ${uniform ? 'uniform' : 'clustered'} unit vectors, M=${m}, efConstruction=${efConstruction}`);
const data = clusteredVectors(n, dims, 1, clusters);
const queries = clusteredVectors(queryCount, dims, 2, clusters);
const { index, buildSeconds } = cachedHnsw(uniform ? 'uniform' : 'clustered', data, dims, { m, efConstruction });
console.log(buildSeconds === null ? 'index loaded from cache' : `build: ${round(buildSeconds, 1)} s (${round(n / buildSeconds, 0)} vectors/s)`);

const matrix = flatten(data, dims);
let started = performance.now();
const exactCpu = process.cpuUsage();
const truth = queries.slice(0, truthCount).map((query) => new Set(exactTopK(matrix, dims, query, 10)));
const exactQps = truthCount / ((performance.now() - started) / 1000);
const exactCpuUsed = process.cpuUsage(exactCpu);
console.log(
  `exact search (baseline): ${round(exactQps, 1)} q/s wall, ${round(truthCount / ((exactCpuUsed.user + exactCpuUsed.system) / 1e6), 1)} q/CPU-s`,
);

const rows: Record<string, number | string>[] = [];
for (const ef of efValues) {
  index.setEf(ef);
  // Warm up, then time all queries; recall on the queries that have ground truth.
  for (const query of queries.slice(0, 50)) index.search(query, 10);
  started = performance.now();
  const cpuStarted = process.cpuUsage();
  const results = queries.map((query) => index.search(query, 10));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  let found = 0;
  truth.forEach((expected, i) => {
    found += (results[i] ?? []).filter((hit) => expected.has(hit.key)).length;
  });
  const qps = queryCount / seconds;
  rows.push({
    ef,
    'recall@10': round(found / (truth.length * 10), 4),
    'queries/s': round(qps, 0),
    'queries/CPU-s': round(queryCount / cpuSeconds, 0),
    'speed-up vs exact': `${round(qps / exactQps, 1)}×`,
  });
}
console.table(rows);
const best = rows.find((row) => (row['recall@10'] as number) >= 0.95);
console.log(
  best === undefined
    ? 'target NOT met: no ef reaches recall@10 ≥ 0.95'
    : `first ef with recall@10 ≥ 0.95: ef=${best.ef} at ${best['queries/s']} q/s wall, ${best['queries/CPU-s']} q per CPU-second ` +
        `(target ≥ 5000 q/s on one core: ${(best['queries/CPU-s'] as number) >= 5000 ? 'met' : 'NOT met'} per CPU-second; wall-clock q/s depends on ` +
        'how many other processes share the cores)',
);
