// Text helpers shared by the semantic metrics: sentence split (Intl.Segmenter, built into Node's ICU), ROUGE-L
// tokens and LCS, named entities (compromise, loaded lazily), cosine similarity.
import type Nlp from 'compromise';

const segmenter = new Intl.Segmenter('en', { granularity: 'sentence' });

/** Sentences with at least one letter or digit, trimmed; these are the "claims" of the claim metrics. */
export function splitSentences(text: string): string[] {
  const sentences: string[] = [];
  for (const { segment } of segmenter.segment(text)) {
    const trimmed = segment.trim();
    if (/[\p{L}\p{N}]/u.test(trimmed)) sentences.push(trimmed);
  }
  return sentences;
}

/** Lower-cased runs of letters/digits (the rouge-score package's default tokenization, without stemming). */
export function wordTokens(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((token) => token.length > 0);
}

/** Length of the longest common subsequence (two-row dynamic programme, O(n·m) time, O(m) memory). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  let previous = new Array<number>(b.length + 1).fill(0);
  let current = new Array<number>(b.length + 1).fill(0);
  for (const tokenA of a) {
    for (let j = 1; j <= b.length; j++) {
      current[j] = tokenA === b[j - 1] ? (previous[j - 1] ?? 0) + 1 : Math.max(previous[j] ?? 0, current[j - 1] ?? 0);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length] ?? 0;
}

export interface PrecisionRecallF1 {
  precision: number;
  recall: number;
  f1: number;
}

/** ROUGE-L (sentence-level, β = 1): LCS over word tokens of candidate and reference. */
export function rougeL(candidate: string, reference: string): PrecisionRecallF1 {
  const candidateTokens = wordTokens(candidate);
  const referenceTokens = wordTokens(reference);
  const lcs = lcsLength(candidateTokens, referenceTokens);
  if (lcs === 0) return { precision: 0, recall: 0, f1: 0 };
  const precision = lcs / candidateTokens.length;
  const recall = lcs / referenceTokens.length;
  return { precision, recall, f1: (2 * precision * recall) / (precision + recall) };
}

function normalizeEntity(text: string): string {
  return text
    .toLowerCase()
    .replace(/['’]s\b/g, '')
    .replace(/[^\p{L}\p{N}$%.]+/gu, ' ')
    .replace(/\.(?=\s|$)/g, '')
    .trim();
}

// compromise takes over a second to import: loaded on first use, so runs without entity metrics never pay for it.
let compromise: Promise<{ default: typeof Nlp }> | undefined;

/** People, places, organisations and numeric values (compromise's rule-based tagger), normalised, deduplicated. */
export async function extractEntities(text: string): Promise<string[]> {
  compromise ??= import('compromise');
  const nlp = (await compromise).default;
  const doc = nlp(text);
  const found = [...doc.topics().out('array'), ...doc.numbers().out('array')] as string[];
  return [...new Set(found.map(normalizeEntity).filter((entity) => entity.length > 0))].sort();
}

export function cosine(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new Error(`vector sizes differ (${a.length} vs ${b.length})`);
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    normA += x * x;
    normB += y * y;
  }
  if (normA === 0 || normB === 0) return 0;
  return dot / Math.sqrt(normA * normB);
}
