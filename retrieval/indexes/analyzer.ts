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
const tokenizer = new WordTokenizer();

export interface Analyzer {
  terms(text: string): string[];
}

export const englishAnalyzer: Analyzer = {
  terms(text: string): string[] {
    const terms: string[] = [];
    for (const raw of tokenizer.tokenize(text)) {
      const token = raw.toLowerCase();
      if (token.length === 0 || STOP_WORDS.has(token)) continue;
      // Identifiers with digits or underscores are kept verbatim: stemming `err_conn_refused_443` gains nothing.
      terms.push(/[0-9_]/.test(token) ? token : PorterStemmer.stem(token));
    }
    return terms;
  },
};
