// BM25 throughput: index build (documents/s) and short-query queries/s on a Cranfield-size corpus (1,400 documents)
// and on 100k short documents, both synthetic with Zipf-distributed words. The baseline, measured in the same run, is
// the same BM25 scoring done the naive way: a loop over every document (what postings lists avoid).
// Target: ≥ 5k queries/s for short queries on the Cranfield-size corpus.
//
//   npx tsx benchmarks/retrieval-bm25.ts [--large 100000] [--queries 2000] [--naive-queries 100]
import { performance } from 'node:perf_hooks';
import { englishAnalyzer } from '../retrieval/indexes/analyzer.ts';
import { Bm25Index } from '../retrieval/indexes/bm25.ts';
import { flag, round, syntheticDocuments, syntheticQueries } from './retrieval-shared.ts';

const queryCount = flag('queries', 2000);
const naiveQueries = flag('naive-queries', 100);

/** Scores every document for every query term: correct, and what not to do. */
function naiveSearch(
  documents: readonly Map<string, number>[],
  lengths: Float64Array,
  df: Map<string, number>,
  query: string,
  k: number,
): number[] {
  const n = documents.length;
  const average = lengths.reduce((sum, length) => sum + length, 0) / n;
  const terms = englishAnalyzer.terms(query);
  const scores: { key: number; score: number }[] = [];
  documents.forEach((counts, key) => {
    let score = 0;
    for (const term of terms) {
      const tf = counts.get(term) ?? 0;
      if (tf === 0) continue;
      const frequency = df.get(term) ?? 0;
      const idf = Math.log(1 + (n - frequency + 0.5) / (frequency + 0.5));
      score += (idf * tf) / (tf + 1.2 * (1 - 0.75 + (0.75 * (lengths[key] as number)) / average));
    }
    if (score > 0) scores.push({ key, score });
  });
  return scores
    .sort((a, b) => b.score - a.score || a.key - b.key)
    .slice(0, k)
    .map((hit) => hit.key);
}

function measure(label: string, count: number): Record<string, number | string> {
  const texts = syntheticDocuments(count, 11);
  const queries = syntheticQueries(queryCount, 12);
  let started = performance.now();
  const index = new Bm25Index();
  index.add(texts.map((text, key) => ({ key, text })));
  const buildSeconds = (performance.now() - started) / 1000;

  for (const query of queries.slice(0, 100)) index.search(query, 10);
  started = performance.now();
  const cpuStarted = process.cpuUsage();
  let returned = 0;
  for (const query of queries) returned += index.search(query, 10).length;
  const qps = queryCount / ((performance.now() - started) / 1000);
  const cpu = process.cpuUsage(cpuStarted);
  const cpuQps = queryCount / ((cpu.user + cpu.system) / 1e6);

  // Naive baseline over the same analysed documents.
  const analysed = texts.map((text) => englishAnalyzer.terms(text));
  const documents = analysed.map((terms) => {
    const counts = new Map<string, number>();
    for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
    return counts;
  });
  const lengths = Float64Array.from(analysed, (terms) => terms.length);
  const df = new Map<string, number>();
  for (const counts of documents) for (const term of counts.keys()) df.set(term, (df.get(term) ?? 0) + 1);
  const sample = queries.slice(0, naiveQueries);
  let mismatches = 0;
  started = performance.now();
  const naive = sample.map((query) => naiveSearch(documents, lengths, df, query, 10));
  const naiveQps = sample.length / ((performance.now() - started) / 1000);
  sample.forEach((query, i) => {
    const fast = index.search(query, 10).map((hit) => hit.key);
    if (JSON.stringify(fast) !== JSON.stringify(naive[i])) mismatches += 1;
  });
  return {
    corpus: label,
    documents: count,
    'build docs/s': round(count / buildSeconds, 0),
    'queries/s': round(qps, 0),
    'queries/CPU-s': round(cpuQps, 0),
    'naive queries/s (baseline)': round(naiveQps, 1),
    'speed-up': `${round(qps / naiveQps, 1)}×`,
    'avg hits': round(returned / queryCount, 1),
    'rankings ≠ naive': mismatches,
  };
}

console.log(`BM25 benchmark: ${queryCount} short queries (2-4 terms), top 10, k1=1.2, b=0.75`);
const rows = [measure('Cranfield-size', 1400), measure('large', flag('large', 100_000))];
console.table(rows);
const cranfield = rows[0]?.['queries/s'] as number;
const cranfieldCpu = rows[0]?.['queries/CPU-s'] as number;
console.log(
  `Cranfield-size: ${cranfield} q/s wall, ${cranfieldCpu} q/CPU-s (target ≥ 5000 on one core: ${cranfieldCpu >= 5000 ? 'met' : 'NOT met'})`,
);
