// HNSW recall@10 vs queries/s for ef ∈ {10, 20, 40, 80, 160} against exact search (the baseline, measured in the
// same run) on n × d unit vectors (default 100k × 384, clustered like sentence embeddings; --uniform for uniform).
// One core: hnswlib-node answers one query at a time on the calling thread. Target: recall@10 ≥ 0.95 at ≥ 5k q/s.
//
// Besides HnswIndex.search (what the product calls), each ef is also timed as raw hnswlib-node `searchKnn` on the same
// graph with the queries already converted to number arrays (the wrapper's overhead is the ratio), and, when
// retrieval/native/build-simd.sh has installed a -march=native addon, as raw `searchKnn` on npm's portable addon too
// (the SIMD speed-up, same run). The first line says which addon build ran.
//
// Each search is timed --rounds times, alternating with the others. --m takes a list (e.g. --m 12,16,24) to compare graphs in one run; each is built once and cached under the temp dir.
//
//   npx tsx benchmarks/retrieval-hnsw.ts [--n 100000] [--dims 384] [--queries 1000] [--truth 200] [--m 16]
//                                        [--ef-construction 200] [--uniform] [--rebuild] [--ef 10,20,40,80,160]
//                                        [--rounds 3]
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { HierarchicalNSW } from 'hnswlib-node';
import { BuildKind, describeHnswlibBuild, loadHnswlibAddon } from '../retrieval/native/hnswlib-build.ts';
import {
  cachedHnsw,
  clusteredVectors,
  exactTopK,
  flag,
  flatten,
  hasFlag,
  hnswCachePath,
  round,
} from './retrieval-shared.ts';

const n = flag('n', 100_000);
const dims = flag('dims', 384);
const queryCount = flag('queries', 1000);
const truthCount = flag('truth', 200);
const efConstruction = flag('ef-construction', 200);
const rounds = flag('rounds', 3);
const uniform = hasFlag('uniform');
const clusters = uniform ? 0 : 1000;
function integerList(name: string, fallback: string): number[] {
  const at = process.argv.indexOf(`--${name}`);
  const values = (at === -1 ? fallback : (process.argv[at + 1] ?? '')).split(',').map(Number);
  if (values.some((value) => !Number.isInteger(value) || value < 1))
    throw new Error(`--${name} takes positive integers, e.g. --${name} ${fallback}`);
  return values;
}
const efValues = integerList('ef', '10,20,40,80,160');
const mValues = integerList('m', '16');

const build = describeHnswlibBuild();
console.log(
  `HNSW benchmark: ${n} × ${dims} ${uniform ? 'uniform' : 'clustered'} unit vectors, M ∈ {${mValues.join(', ')}}, efConstruction=${efConstruction}`,
);
console.log(
  `hnswlib-node addon: ${build.description}` +
    (build.kind === BuildKind.Portable ? ' (retrieval/native/build-simd.sh builds a -march=native one)' : ''),
);
const data = clusteredVectors(n, dims, 1, clusters);
const queries = clusteredVectors(queryCount, dims, 2, clusters);
const dataset = uniform ? 'uniform' : 'clustered';

/** The same graph opened directly in an addon: the cache file is [u32 header length][header][hnswlib bytes]. */
function rawIndex(addonPath: string, m: number): HierarchicalNSW {
  const bytes = readFileSync(hnswCachePath(dataset, n, dims, { m, efConstruction }));
  const scratch = join(tmpdir(), `switchyard-bench-raw-${process.pid}.hnswlib`);
  try {
    writeFileSync(scratch, bytes.subarray(4 + bytes.readUInt32LE(0)));
    const raw = new (loadHnswlibAddon(addonPath).HierarchicalNSW)('ip', dims);
    raw.readIndexSync(scratch, true);
    return raw;
  } finally {
    rmSync(scratch, { force: true });
  }
}
const queryArrays = queries.map((query) => Array.from(query));

const matrix = flatten(data, dims);
const started = performance.now();
const exactCpu = process.cpuUsage();
const truth = queries.slice(0, truthCount).map((query) => new Set(exactTopK(matrix, dims, query, 10)));
const exactQps = truthCount / ((performance.now() - started) / 1000);
const exactCpuUsed = process.cpuUsage(exactCpu);
console.log(
  `exact search (baseline): ${round(exactQps, 1)} q/s wall, ${round(truthCount / ((exactCpuUsed.user + exactCpuUsed.system) / 1e6), 1)} q/CPU-s`,
);

interface Timing {
  recall: number;
  qps: number;
  cpuQps: number;
}

/**
 * Times each search over all queries, `rounds` times in alternation (so a burst of load from other processes hits all
 * of them alike), after 50 warm-up queries each; recall on the queries that have ground truth.
 */
function timedTogether(searches: ReadonlyMap<string, (i: number) => readonly number[]>): Map<string, Timing> {
  const totals = new Map<string, { seconds: number; cpuSeconds: number; recall: number }>();
  for (const search of searches.values()) for (let i = 0; i < Math.min(50, queryCount); i += 1) search(i);
  for (let round = 0; round < rounds; round += 1) {
    for (const [name, search] of searches) {
      const wallStarted = performance.now();
      const cpuStarted = process.cpuUsage();
      const results = queries.map((_, i) => search(i));
      const seconds = (performance.now() - wallStarted) / 1000;
      const cpu = process.cpuUsage(cpuStarted);
      let found = 0;
      truth.forEach((expected, i) => {
        found += (results[i] ?? []).filter((key) => expected.has(key)).length;
      });
      const total = totals.get(name) ?? { seconds: 0, cpuSeconds: 0, recall: found / (truth.length * 10) };
      totals.set(name, {
        ...total,
        seconds: total.seconds + seconds,
        cpuSeconds: total.cpuSeconds + (cpu.user + cpu.system) / 1e6,
      });
    }
  }
  const timings = new Map<string, Timing>();
  for (const [name, total] of totals) {
    timings.set(name, {
      recall: total.recall,
      qps: (rounds * queryCount) / total.seconds,
      cpuQps: (rounds * queryCount) / total.cpuSeconds,
    });
  }
  return timings;
}

const rows: Record<string, number | string>[] = [];
for (const m of mValues) {
  const { index, buildSeconds } = cachedHnsw(dataset, data, dims, { m, efConstruction });
  console.log(
    `M=${m}: ${buildSeconds === null ? 'index loaded from cache' : `built in ${round(buildSeconds, 1)} s (${round(n / buildSeconds, 0)} vectors/s)`}`,
  );
  const rawInstalled = rawIndex(build.addonPath, m);
  const portablePath = build.kind === BuildKind.Native ? build.portableAddonPath : null;
  const rawPortable = portablePath === null ? null : rawIndex(portablePath, m);
  for (const ef of efValues) {
    index.setEf(ef);
    rawInstalled.setEf(ef);
    rawPortable?.setEf(ef);
    const searches = new Map([
      ['wrapper', (i: number): readonly number[] => index.search(queries[i] as Float32Array, 10).map((hit) => hit.key)],
      ['raw', (i: number): readonly number[] => rawInstalled.searchKnn(queryArrays[i] as number[], 10).neighbors],
    ]);
    if (rawPortable !== null)
      searches.set('portable', (i) => rawPortable.searchKnn(queryArrays[i] as number[], 10).neighbors);
    const timings = timedTogether(searches);
    const wrapper = timings.get('wrapper') as Timing;
    const raw = timings.get('raw') as Timing;
    const portable = timings.get('portable');
    const row: Record<string, number | string> = {
      M: m,
      ef,
      'recall@10': round(wrapper.recall, 4),
      'queries/s': round(wrapper.qps, 0),
      'queries/CPU-s': round(wrapper.cpuQps, 0),
      'vs exact': `${round(wrapper.qps / exactQps, 0)}×`,
      'raw searchKnn q/CPU-s': round(raw.cpuQps, 0),
      'wrapper/raw': round(wrapper.cpuQps / raw.cpuQps, 2),
    };
    if (portable !== undefined) {
      row['portable raw q/CPU-s'] = round(portable.cpuQps, 0);
      row['native/portable'] = round(raw.cpuQps / portable.cpuQps, 2);
    }
    rows.push(row);
  }
}
console.table(rows);
for (const m of mValues) {
  const best = rows.find((row) => row['M'] === m && (row['recall@10'] as number) >= 0.95);
  console.log(
    best === undefined
      ? `M=${m}: target NOT met: no ef reaches recall@10 ≥ 0.95`
      : `M=${m}: first ef with recall@10 ≥ 0.95: ef=${best['ef']} at ${best['queries/s']} q/s wall, ${best['queries/CPU-s']} q per CPU-second ` +
          `(target ≥ 5000 q/s on one core: ${(best['queries/CPU-s'] as number) >= 5000 ? 'met' : 'NOT met'} per CPU-second; addon: ${build.kind})`,
  );
}
console.log('wall-clock q/s depends on how many other processes share the cores; per-CPU-second figures much less so.');
