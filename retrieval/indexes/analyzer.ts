// Text → index terms for BM25: natural's word tokenizer (keeps `_` so identifiers like ERR_CONN_REFUSED_443 stay one
// term), lower-casing, natural's English stop words, Porter stemmer. Submodules are required directly so that
// natural's index (which loads dotenv and prints tips) is never imported.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface NaturalTokenizer {
  tokenize(text: string): string[];
}
const { WordTokenizer } = require('natural/lib/natural/tokenizers/regexp_tokenizer.js') as {
  WordTokenizer: new () => NaturalTokenizer;
};
const PorterStemmer = require('natural/lib/natural/stemmers/porter_stemmer.js') as { stem(token: string): string };
const { words: STOP_WORD_LIST } = require('natural/lib/natural/util/stopwords.js') as { words: string[] };

const STOP_WORDS = new Set(STOP_WORD_LIST);
/** natural's English stop words (~170), shared with the word-vector embedder. */
export const ENGLISH_STOP_WORDS: ReadonlySet<string> = STOP_WORDS;
const tokenizer = new WordTokenizer();

/** Lucene's EnglishAnalyzer stop set (33 words). */
const LUCENE_STOP_WORDS = new Set(
  'a an and are as at be but by for if in into is it no not of on or such that the their then there these they this to was will with'.split(
    ' ',
  ),
);

/**
 * Porter stems by token. Word frequencies are Zipfian, so a bounded cache answers most tokens of a large ingest
 * without re-running the stemmer's regular expressions (~4 % of ingest CPU uncached, by a profile of
 * benchmarks/retrieval-scale.ts). Emptied when full rather than evicting one by one: a refill is cheap.
 */
const STEM_CACHE_LIMIT = 50_000;
const stemCache = new Map<string, string>();

function porterStem(token: string): string {
  let stem = stemCache.get(token);
  if (stem === undefined) {
    stem = PorterStemmer.stem(token);
    if (stemCache.size >= STEM_CACHE_LIMIT) stemCache.clear();
    stemCache.set(token, stem);
  }
  return stem;
}

export interface Analyzer {
  terms(text: string): string[];
}

export interface AnalyzerOptions {
  stemmer?: 'porter' | 'none';
  /** natural's English list (~170 words), Lucene's 33, or none. */
  stopWords?: 'natural' | 'lucene' | 'none';
}

export function createAnalyzer(options: AnalyzerOptions = {}): Analyzer {
  const stem = (options.stemmer ?? 'porter') === 'porter';
  const stopWords =
    options.stopWords === 'none' ? new Set<string>() : options.stopWords === 'lucene' ? LUCENE_STOP_WORDS : STOP_WORDS;
  return {
    terms(text: string): string[] {
      const terms: string[] = [];
      for (const raw of tokenizer.tokenize(text)) {
        const token = raw.toLowerCase();
        if (token.length === 0 || stopWords.has(token)) continue;
        // Identifiers with digits or underscores are kept verbatim: stemming `err_conn_refused_443` gains nothing.
        terms.push(!stem || /[0-9_]/.test(token) ? token : porterStem(token));
      }
      return terms;
    },
  };
}

/** Porter stemming and natural's stop words: the best of the variants measured on CACM (retrieval/README.md). */
export const englishAnalyzer: Analyzer = createAnalyzer();
