// Shared helpers of the retrieval benchmarks: flags, percentiles, synthetic data (clustered unit vectors that look
// like sentence embeddings, Zipf-distributed short documents), and a cache of built HNSW indexes in the temp folder
// so the 100k-vector graph is built once per machine and parameter set.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { HnswIndex } from '../retrieval/indexes/hnsw.ts';
import { seededRandom } from '../retrieval/testing/random.ts';

export function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index === -1 ? undefined : process.argv[index + 1];
  return value === undefined ? fallback : Number(value);
}

export function hasFlag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/**
 * Unit vectors drawn around `clusters` random centres (spread `noise`), like embeddings of texts about a limited set
 * of topics. Uniform random vectors in 384-d have no neighbourhood structure at all and are a worst case no real
 * embedding model produces; `--uniform` selects them anyway.
 */
export function clusteredVectors(
  count: number,
  dimensions: number,
  seed: number,
  clusters = 1000,
  noise = 0.6,
): Float32Array[] {
  const random = seededRandom(seed);
  const centreRandom = seededRandom(7919);
  const centres = Array.from({ length: clusters }, () =>
    Float32Array.from({ length: dimensions }, () => gaussian(centreRandom)),
  );
  const out: Float32Array[] = [];
  for (let n = 0; n < count; n += 1) {
    const centre = clusters > 0 ? (centres[Math.floor(random() * clusters)] as Float32Array) : null;
    const vector = new Float32Array(dimensions);
    let norm = 0;
    for (let i = 0; i < dimensions; i += 1) {
      const value = (centre === null ? 0 : (centre[i] as number)) + (centre === null ? 1 : noise) * gaussian(random);
      vector[i] = value;
      norm += value * value;
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < dimensions; i += 1) vector[i] = (vector[i] as number) / norm;
    out.push(vector);
  }
  return out;
}

/** Exact top-k by inner product over a flat matrix (the baseline every ANN number is compared with). */
export function exactTopK(matrix: Float32Array, dimensions: number, query: Float32Array, k: number): number[] {
  const count = matrix.length / dimensions;
  const best: { key: number; score: number }[] = [];
  for (let row = 0; row < count; row += 1) {
    let score = 0;
    const offset = row * dimensions;
    for (let i = 0; i < dimensions; i += 1) score += (matrix[offset + i] as number) * (query[i] as number);
    if (best.length < k) {
      best.push({ key: row, score });
      best.sort((a, b) => b.score - a.score);
    } else if (score > (best[k - 1] as { score: number }).score) {
      best[k - 1] = { key: row, score };
      best.sort((a, b) => b.score - a.score);
    }
  }
  return best.map((entry) => entry.key);
}

export function flatten(vectors: readonly Float32Array[], dimensions: number): Float32Array {
  const matrix = new Float32Array(vectors.length * dimensions);
  vectors.forEach((vector, row) => matrix.set(vector, row * dimensions));
  return matrix;
}

export function hnswCachePath(
  name: string,
  count: number,
  dimensions: number,
  config: { m: number; efConstruction: number },
): string {
  return join(tmpdir(), `switchyard-bench-${name}-${count}x${dimensions}-m${config.m}-ef${config.efConstruction}.hnsw`);
}

/** Builds (or loads from the temp-folder cache) an HNSW index over `vectors` with keys 0..n-1. */
export function cachedHnsw(
  name: string,
  vectors: readonly Float32Array[],
  dimensions: number,
  config: { m: number; efConstruction: number },
): { index: HnswIndex; buildSeconds: number | null } {
  const path = hnswCachePath(name, vectors.length, dimensions, config);
  if (existsSync(path) && !hasFlag('rebuild')) return { index: HnswIndex.load(path), buildSeconds: null };
  const index = new HnswIndex(dimensions, { ...config, space: 'ip', initialCapacity: vectors.length });
  const started = performance.now();
  const batch = 5000;
  for (let first = 0; first < vectors.length; first += batch) {
    index.add(vectors.slice(first, first + batch).map((vector, i) => ({ key: first + i, vector })));
    process.stderr.write(`\r  building HNSW ${Math.min(vectors.length, first + batch)}/${vectors.length}`);
  }
  const buildSeconds = (performance.now() - started) / 1000;
  process.stderr.write('\n');
  index.save(path);
  return { index, buildSeconds };
}

/** Zipf-distributed vocabulary sampler over `vocabulary` synthetic words (w0 most frequent). */
export function zipfSampler(vocabulary: number, seed: number, exponent = 1.07): () => string {
  const random = seededRandom(seed);
  const cumulative = new Float64Array(vocabulary);
  let total = 0;
  for (let rank = 0; rank < vocabulary; rank += 1) {
    total += 1 / (rank + 1) ** exponent;
    cumulative[rank] = total;
  }
  return () => {
    const target = random() * total;
    let low = 0;
    let high = vocabulary - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((cumulative[middle] as number) < target) low = middle + 1;
      else high = middle;
    }
    return wordOf(low);
  };
}

/** Pronounceable distinct synthetic words, so the Porter stemmer treats them like words. */
export function wordOf(rank: number): string {
  const consonants = 'bcdfgklmnprstvz';
  const vowels = 'aeiou';
  let word = '';
  let value = rank + 1;
  while (value > 0) {
    word +=
      (consonants[value % consonants.length] as string) +
      (vowels[Math.floor(value / consonants.length) % vowels.length] as string);
    value = Math.floor(value / (consonants.length * vowels.length));
  }
  return `${word}x`;
}

export function syntheticDocuments(count: number, seed: number, minWords = 12, maxWords = 60): string[] {
  const sample = zipfSampler(50_000, seed);
  const random = seededRandom(seed + 1);
  return Array.from({ length: count }, () => {
    const length = minWords + Math.floor(random() * (maxWords - minWords));
    return Array.from({ length }, sample).join(' ');
  });
}

export function syntheticQueries(count: number, seed: number, minTerms = 2, maxTerms = 4): string[] {
  // Queries skip the 50 most frequent words (they act as stop words) so they look like real short queries.
  const sample = zipfSampler(50_000, seed);
  const random = seededRandom(seed + 1);
  const stop = new Set(Array.from({ length: 50 }, (_, rank) => wordOf(rank)));
  return Array.from({ length: count }, () => {
    const terms: string[] = [];
    const wanted = minTerms + Math.floor(random() * (maxTerms - minTerms + 1));
    while (terms.length < wanted) {
      const word = sample();
      if (!stop.has(word)) terms.push(word);
    }
    return terms.join(' ');
  });
}

export function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
