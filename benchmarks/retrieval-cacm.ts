// Chooses retrieval's defaults on the CACM test collection by measurement (the collection stays outside the repo:
// pass its folder). Every variant runs the product's own classes — Bm25Index with an analyzer and k1/b, RM3
// expansion (retrieval/search/prf.ts), the word-vector embedder over derived tables of several sizes, exact cosine
// search, weighted RRF — and is scored with evals' trec_eval measures (nDCG@10, MAP, P@10, R@100, runs 1,000 deep).
//   npx tsx benchmarks/retrieval-cacm.ts --cacm ../shared/ir/cacm [--tables 20000,50000,100000,341479]
// The numbers of the shipped defaults come from `switchyard eval retrieval` (retrieval/README.md); this script
// prints the sweeps the choices were made from. 52 judged queries: differences under ~0.01 are noise.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cacmDocuments, cacmQueries, parseSmart } from '../evals/retrieval/cacm.ts';
import { measureRun } from '../evals/retrieval/measures.ts';
import { parseQrels, type Run } from '../evals/retrieval/trec.ts';
import { cacmQrels } from '../evals/retrieval/cacm.ts';
import type { SearchHit } from '../retrieval/contracts.ts';
import { createAnalyzer, type AnalyzerOptions } from '../retrieval/indexes/analyzer.ts';
import { BruteForceIndex } from '../retrieval/indexes/brute-force.ts';
import { Bm25ConfigSchema, Bm25Index } from '../retrieval/indexes/bm25.ts';
import { deriveWordVectorTable } from '../retrieval/models/word-vectors/derive.ts';
import { WordVectorEmbedder } from '../retrieval/models/word-vectors/embedder.ts';
import { readTable } from '../retrieval/models/word-vectors/table.ts';
import { withTitle } from '../retrieval/retrieval-index.ts';
import { searchWithFeedback, type PrfConfig } from '../retrieval/search/prf.ts';
import { reciprocalRankFusion } from '../retrieval/search/rrf.ts';

const argument = (name: string): string | undefined => {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
};
const folder = argument('cacm');
if (folder === undefined) {
  console.error('usage: npx tsx benchmarks/retrieval-cacm.ts --cacm <folder with cacm.all, query.text, qrels.text>');
  process.exit(2);
}
const tableSizes = (argument('tables') ?? '20000,50000,100000').split(',').map(Number);
const DEPTH = 1000;

const read = (name: string) => readFileSync(join(folder, name), 'latin1');
const records = parseSmart(read('cacm.all'), 'cacm.all');
const documents = cacmDocuments(records);
const queries = cacmQueries(parseSmart(read('query.text'), 'query.text'));
const qrels = parseQrels(cacmQrels(read('qrels.text'), 'qrels.text'));
const judged = queries.filter((query) => qrels.has(query.id));
const field = (i: number, letter: string) => (records[i]?.fields.get(letter) ?? '').replace(/\s+/g, ' ');

function score(search: (query: string) => SearchHit[]): { ndcg: number; map: number; p10: number; r100: number } {
  const run: Run = new Map();
  for (const query of judged) {
    run.set(
      query.id,
      search(query.text)
        .slice(0, DEPTH)
        .map((hit) => ({ docno: documents[hit.key]?.id ?? '', score: hit.score })),
    );
  }
  const { mean } = measureRun(run, qrels, { cutoffs: [10, 100] });
  return { ndcg: mean.ndcgAt[10] ?? 0, map: mean.map, p10: mean.precisionAt[10] ?? 0, r100: mean.recallAt[100] ?? 0 };
}

const rows: string[] = [];
function report(group: string, variant: string, measured: ReturnType<typeof score>): void {
  const line = `${group.padEnd(8)} ${variant.padEnd(44)} ${measured.ndcg.toFixed(4)}  ${measured.map.toFixed(4)}  ${measured.p10.toFixed(4)}  ${measured.r100.toFixed(4)}`;
  rows.push(line);
  console.log(line);
}
console.log(`CACM: ${documents.length} documents, ${judged.length} judged queries, runs ${DEPTH} deep`);
console.log(`${'group'.padEnd(8)} ${'variant'.padEnd(44)} nDCG@10 MAP     P@10    R@100`);

// Field handling: what text each document contributes to BM25.
const FIELD_VARIANTS: Record<string, (i: number) => string> = {
  'title + abstract': (i) => `${field(i, 'T')}\n${field(i, 'W')}`,
  'title + abstract + keywords': (i) => `${field(i, 'T')}\n${field(i, 'W')}\n${field(i, 'K')}`,
  'title + abstract + keywords + authors': (i) => `${documents[i]?.title}\n${documents[i]?.text}`,
  '2×title + abstract + keywords + authors': (i) =>
    `${documents[i]?.title}\n${documents[i]?.title}\n${documents[i]?.text}`,
};

const DEFAULTS = Bm25ConfigSchema.parse({});
function bm25(
  text: (i: number) => string,
  k1 = DEFAULTS.k1,
  b = DEFAULTS.b,
  analyzer: AnalyzerOptions = {},
): Bm25Index {
  const index = new Bm25Index({ k1, b }, createAnalyzer(analyzer));
  index.add(documents.map((_document, i) => ({ key: i, text: text(i) })));
  return index;
}

for (const [name, text] of Object.entries(FIELD_VARIANTS)) {
  const index = bm25(text);
  report(
    'fields',
    name,
    score((query) => index.search(query, DEPTH)),
  );
}
// What RetrievalIndex gives BM25 for a CACM document converted by `eval convert-cacm`.
const productText = FIELD_VARIANTS['2×title + abstract + keywords + authors'] as (i: number) => string;
for (const [name, analyzer] of Object.entries<AnalyzerOptions>({
  'porter, natural stop words': {},
  'porter, Lucene stop words': { stopWords: 'lucene' },
  'porter, no stop words': { stopWords: 'none' },
  'no stemming, natural stop words': { stemmer: 'none' },
})) {
  const index = bm25(productText, 1.2, 0.75, analyzer);
  report(
    'analyzer',
    name,
    score((query) => index.search(query, DEPTH)),
  );
}
{
  const index = bm25(productText);
  report(
    'qterms',
    'each occurrence counts',
    score((query) => index.search(query, DEPTH)),
  );
  report(
    'qterms',
    'each distinct term once',
    score((query) => index.searchWeighted(new Map(index.analyze(query).map((t) => [t, 1])), DEPTH)),
  );
}
for (const k1 of [0.6, 0.9, 1.2, 1.5, 2.0]) {
  for (const b of [0.3, 0.5, 0.75, 0.9]) {
    const index = bm25(productText, k1, b);
    report(
      'bm25',
      `k1 ${k1} b ${b}`,
      score((query) => index.search(query, DEPTH)),
    );
  }
}
const lexical = bm25(productText);
for (const prf of [
  { feedbackDocuments: 10, feedbackTerms: 10, originalWeight: 0.5 },
  { feedbackDocuments: 5, feedbackTerms: 10, originalWeight: 0.5 },
  { feedbackDocuments: 10, feedbackTerms: 20, originalWeight: 0.5 },
  { feedbackDocuments: 10, feedbackTerms: 10, originalWeight: 0.7 },
  { feedbackDocuments: 5, feedbackTerms: 20, originalWeight: 0.7 },
] satisfies PrfConfig[]) {
  report(
    'rm3',
    `docs ${prf.feedbackDocuments} terms ${prf.feedbackTerms} λ ${prf.originalWeight}`,
    score((query) => searchWithFeedback(lexical, query, DEPTH, prf)),
  );
}

// Word vectors: table size (pruning), IDF weighting, and what the document vector is built from.
const scratch = mkdtempSync(join(tmpdir(), 'switchyard-cacm-'));
const vectorRuns = new Map<string, (query: string) => SearchHit[]>();
try {
  for (const words of tableSizes) {
    const path = join(scratch, `glove-${words}.swv`);
    const started = performance.now();
    await deriveWordVectorTable({ out: path, words });
    const deriveMs = performance.now() - started;
    const table = readTable(path);
    for (const rankOffset of words === tableSizes.at(-1) || words === 100_000 ? [1, 10, 100, 1000, 1e9] : [100]) {
      const embedder = WordVectorEmbedder.fromTable(table, { rankOffset });
      const vectors = await embedder.embed(
        documents.map((document) => withTitle(document.title, document.text)),
        'document',
      );
      const index = new BruteForceIndex(embedder.dimensions);
      index.add(vectors.map((vector, key) => ({ key, vector })));
      const queryVectors = new Map(
        (
          await embedder.embed(
            judged.map((query) => query.text),
            'query',
          )
        ).map((vector, i) => [judged[i]?.text ?? '', vector]),
      );
      const search = (query: string) => index.search(queryVectors.get(query) as Float32Array, DEPTH);
      const label = `${table.header.count} words, rank offset ${rankOffset === 1e9 ? '∞ (no IDF)' : rankOffset}`;
      report(
        'vector',
        `${label}${rankOffset === 100 ? ` (derive ${(deriveMs / 1000).toFixed(1)} s)` : ''}`,
        score(search),
      );
      if (rankOffset === 100) vectorRuns.set(String(words), search);
    }
  }
  const vectorSearch = vectorRuns.get('100000') ?? [...vectorRuns.values()].at(-1);
  if (vectorSearch !== undefined) {
    for (const weight of [0.25, 0.5, 0.75, 1]) {
      for (const rrfK of [10, 60]) {
        for (const prf of [false, true]) {
          report(
            'hybrid',
            `vector weight ${weight}, k ${rrfK}${prf ? ', lexical with RM3' : ''}`,
            score((query) => {
              const lexicalHits = prf ? searchWithFeedback(lexical, query, DEPTH) : lexical.search(query, DEPTH);
              return reciprocalRankFusion(
                [
                  { name: 'lexical', weight: 1, hits: lexicalHits },
                  { name: 'vector', weight, hits: vectorSearch(query) },
                ],
                rrfK,
              );
            }),
          );
        }
      }
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
