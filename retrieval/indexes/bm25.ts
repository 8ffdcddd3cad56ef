// BM25 with Lucene's formula over postings lists, scored term-at-a-time (only documents containing a query term are
// touched), or, with `pruning`, multi-term queries document-at-a-time with MaxScore (exact). Score of a document d for query q:
//   sum over query terms t: idf(t) * tf / (tf + k1 * (1 - b + b * |d| / avgdl))
//   idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))
// This is Lucene's BM25Similarity (which dropped the constant (k1 + 1) numerator factor) with exact document lengths
// instead of Lucene's one-byte length encoding. Deletes are tombstones skipped at scoring time and compacted away once
// they are a quarter of the slots; N, df and avgdl always count live documents only.
import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import type { KeyFilter, LexicalIndex, SearchHit, TextItem } from '../contracts.ts';
import { TopK } from '../search/top-k.ts';
import { englishAnalyzer, type Analyzer } from './analyzer.ts';
import { maxScoreSearch, type ScoringTerm } from './bm25-maxscore.ts';

// k1 = 1.5, b = 0.5: the best of a k1 × b grid on CACM (a plateau with k1 2 / b 0.3–0.5; Lucene's 1.2 / 0.75 is
// 0.025 nDCG@10 lower there; retrieval/README.md).
export const Bm25ConfigSchema = z.object({
  k1: z.number().nonnegative().default(1.5),
  b: z.number().min(0).max(1).default(0.5),
});
export type Bm25Config = z.infer<typeof Bm25ConfigSchema>;

const FORMAT_VERSION = 1;

interface DocumentSlot {
  key: number;
  length: number;
  /** Flattened pairs [termId, tf, termId, tf, ...]. */
  termFrequencies: number[];
  live: boolean;
}

interface Postings {
  slots: number[];
  tfs: number[];
  /** Live documents containing the term. */
  df: number;
  /** Largest tf and shortest document in the postings (never lowered by deletes: still valid bounds). */
  maxTf: number;
  minLength: number;
}

const SavedSchema = z.object({
  format: z.literal('switchyard-bm25'),
  version: z.literal(FORMAT_VERSION),
  k1: z.number(),
  b: z.number(),
  terms: z.array(z.string()),
  documents: z.array(z.tuple([z.number().int(), z.number().int(), z.array(z.number().int())])),
});

export class Bm25Index implements LexicalIndex {
  readonly kind = 'bm25';
  readonly k1: number;
  readonly b: number;
  private readonly analyzer: Analyzer;
  private readonly termIds = new Map<string, number>();
  private readonly terms: string[] = [];
  private readonly postings: Postings[] = [];
  private slots: DocumentSlot[] = [];
  // Parallel per-slot arrays for the scoring loop (no object loads per posting).
  private slotKeys: number[] = [];
  private slotLengths: number[] = [];
  private slotLive: number[] = [];
  private readonly slotOfKey = new Map<number, number>();
  private liveCount = 0;
  private deadCount = 0;
  private totalLength = 0;
  private scores = new Float64Array(0);

  /**
   * MaxScore pruning for multi-term queries (exact). Off by default: in the scale runs (5k–50k chunks, 2–4-term
   * queries) its median latency equalled exhaustive scoring and its mean went from 8× faster to 0.6× (retrieval/README.md).
   */
  pruning = false;

  constructor(config: Partial<Bm25Config> = {}, analyzer: Analyzer = englishAnalyzer) {
    const parsed = Bm25ConfigSchema.parse(config);
    this.k1 = parsed.k1;
    this.b = parsed.b;
    this.analyzer = analyzer;
  }

  get size(): number {
    return this.liveCount;
  }

  has(key: number): boolean {
    return this.slotOfKey.has(key);
  }

  add(items: readonly TextItem[]): void {
    for (const item of items) this.addTerms(item.key, this.analyzer.terms(item.text));
  }

  delete(keys: readonly number[]): number {
    let removed = 0;
    for (const key of keys) {
      const slotIndex = this.slotOfKey.get(key);
      if (slotIndex === undefined) continue;
      const slot = this.slots[slotIndex] as DocumentSlot;
      slot.live = false;
      this.slotLive[slotIndex] = 0;
      for (let i = 0; i < slot.termFrequencies.length; i += 2) {
        (this.postings[slot.termFrequencies[i] as number] as Postings).df -= 1;
      }
      this.slotOfKey.delete(key);
      this.liveCount -= 1;
      this.deadCount += 1;
      this.totalLength -= slot.length;
      removed += 1;
    }
    if (this.deadCount > 64 && this.deadCount * 4 > this.slots.length) this.compact();
    return removed;
  }

  /** The idf of an analysed term (exposed for tests and explanations). */
  idf(term: string): number {
    const termId = this.termIds.get(term);
    const df = termId === undefined ? 0 : (this.postings[termId] as Postings).df;
    return Math.log(1 + (this.liveCount - df + 0.5) / (df + 0.5));
  }

  /** The analysed terms of a text (what search and add see). */
  analyze(text: string): string[] {
    return this.analyzer.terms(text);
  }

  /** Term frequencies and length of an indexed document (for pseudo-relevance feedback); null when unknown. */
  termVector(key: number): { length: number; terms: Map<string, number> } | null {
    const slotIndex = this.slotOfKey.get(key);
    if (slotIndex === undefined) return null;
    const slot = this.slots[slotIndex] as DocumentSlot;
    const terms = new Map<string, number>();
    for (let i = 0; i < slot.termFrequencies.length; i += 2) {
      terms.set(this.terms[slot.termFrequencies[i] as number] as string, slot.termFrequencies[i + 1] as number);
    }
    return { length: slot.length, terms };
  }

  /** Live documents containing an analysed term. */
  documentFrequency(term: string): number {
    const termId = this.termIds.get(term);
    return termId === undefined ? 0 : (this.postings[termId] as Postings).df;
  }

  /** A query term counts once per occurrence (as in Lucene and rank_bm25): "cat cat dog" weighs cat twice. */
  search(query: string, k: number, filter?: KeyFilter): SearchHit[] {
    const weights = new Map<string, number>();
    for (const term of this.analyzer.terms(query)) weights.set(term, (weights.get(term) ?? 0) + 1);
    return this.searchWeighted(weights, k, filter);
  }

  /** BM25 with a weight per analysed query term (the query-term count, or an expansion weight). */
  searchWeighted(termWeights: ReadonlyMap<string, number>, k: number, filter?: KeyFilter): SearchHit[] {
    if (this.liveCount === 0 || k <= 0) return [];
    const queryTerms = new Map<number, number>();
    for (const [term, weight] of termWeights) {
      const termId = this.termIds.get(term);
      if (termId !== undefined && weight > 0) queryTerms.set(termId, (queryTerms.get(termId) ?? 0) + weight);
    }
    if (queryTerms.size === 0) return [];
    if (this.pruning && queryTerms.size > 1) return this.searchMaxScore(queryTerms, k, filter);
    if (this.scores.length < this.slots.length) this.scores = new Float64Array(this.slots.length * 2);
    const scores = this.scores;
    const touched: number[] = [];
    const averageLength = this.totalLength / this.liveCount;
    // normaliser(d) = k1 · (1 − b + b · |d| / avgdl) = base + perToken · |d|
    const base = this.k1 * (1 - this.b);
    const perToken = (this.k1 * this.b) / averageLength;
    const { slotKeys, slotLengths, slotLive } = this;
    for (const [termId, queryCount] of queryTerms) {
      const postings = this.postings[termId] as Postings;
      if (postings.df === 0) continue;
      const weight = queryCount * Math.log(1 + (this.liveCount - postings.df + 0.5) / (postings.df + 0.5));
      const { slots: postingSlots, tfs } = postings;
      for (let i = 0; i < postingSlots.length; i += 1) {
        const slotIndex = postingSlots[i] as number;
        if (slotLive[slotIndex] === 0) continue;
        if (filter !== undefined && !filter(slotKeys[slotIndex] as number)) continue;
        const tf = tfs[i] as number;
        const previous = scores[slotIndex] as number;
        if (previous === 0) touched.push(slotIndex);
        scores[slotIndex] = previous + (weight * tf) / (tf + base + perToken * (slotLengths[slotIndex] as number));
      }
    }
    const top = new TopK(k);
    for (const slotIndex of touched) {
      top.offer(slotKeys[slotIndex] as number, scores[slotIndex] as number);
      scores[slotIndex] = 0;
    }
    return top.result();
  }

  /** Document-at-a-time with MaxScore pruning (bm25-maxscore.ts); same hits as exhaustive scoring. */
  private searchMaxScore(queryTerms: ReadonlyMap<number, number>, k: number, filter?: KeyFilter): SearchHit[] {
    const averageLength = this.totalLength / this.liveCount;
    const base = this.k1 * (1 - this.b);
    const perToken = (this.k1 * this.b) / averageLength;
    const terms: ScoringTerm[] = [];
    for (const [termId, queryWeight] of queryTerms) {
      const postings = this.postings[termId] as Postings;
      if (postings.df === 0) continue;
      const weight = queryWeight * Math.log(1 + (this.liveCount - postings.df + 0.5) / (postings.df + 0.5));
      // tf / (tf + norm) grows with tf and shrinks with |d|: the largest tf over the shortest document bounds it.
      const upperBound = (weight * postings.maxTf) / (postings.maxTf + base + perToken * postings.minLength);
      terms.push({ slots: postings.slots, tfs: postings.tfs, weight, upperBound });
    }
    return maxScoreSearch(terms, { keys: this.slotKeys, lengths: this.slotLengths, live: this.slotLive, base, perToken }, k, filter);
  }

  save(path: string): void {
    const live = this.slots.filter((slot) => slot.live);
    const saved: z.infer<typeof SavedSchema> = {
      format: 'switchyard-bm25',
      version: FORMAT_VERSION,
      k1: this.k1,
      b: this.b,
      terms: this.terms,
      documents: live.map((slot) => [slot.key, slot.length, slot.termFrequencies]),
    };
    writeFileSync(path, JSON.stringify(saved));
  }

  static load(path: string, analyzer: Analyzer = englishAnalyzer): Bm25Index {
    return Bm25Index.fromBytes(readFileSync(path), analyzer);
  }

  static fromBytes(bytes: Buffer, analyzer: Analyzer = englishAnalyzer): Bm25Index {
    const saved = SavedSchema.parse(JSON.parse(bytes.toString('utf8')));
    const index = new Bm25Index({ k1: saved.k1, b: saved.b }, analyzer);
    for (const term of saved.terms) index.termId(term);
    for (const [key, length, termFrequencies] of saved.documents) {
      index.insertSlot(key, length, termFrequencies);
    }
    return index;
  }

  private termId(term: string): number {
    let termId = this.termIds.get(term);
    if (termId === undefined) {
      termId = this.terms.length;
      this.termIds.set(term, termId);
      this.terms.push(term);
      this.postings.push({ slots: [], tfs: [], df: 0, maxTf: 0, minLength: Number.POSITIVE_INFINITY });
    }
    return termId;
  }

  private addTerms(key: number, terms: readonly string[]): void {
    if (this.slotOfKey.has(key)) this.delete([key]);
    const counts = new Map<number, number>();
    for (const term of terms) {
      const termId = this.termId(term);
      counts.set(termId, (counts.get(termId) ?? 0) + 1);
    }
    const termFrequencies: number[] = [];
    for (const [termId, tf] of counts) termFrequencies.push(termId, tf);
    this.insertSlot(key, terms.length, termFrequencies);
  }

  private insertSlot(key: number, length: number, termFrequencies: number[]): void {
    const slotIndex = this.slots.length;
    this.slots.push({ key, length, termFrequencies, live: true });
    this.slotKeys.push(key);
    this.slotLengths.push(length);
    this.slotLive.push(1);
    this.slotOfKey.set(key, slotIndex);
    for (let i = 0; i < termFrequencies.length; i += 2) {
      const postings = this.postings[termFrequencies[i] as number] as Postings;
      const tf = termFrequencies[i + 1] as number;
      postings.slots.push(slotIndex);
      postings.tfs.push(tf);
      postings.df += 1;
      if (tf > postings.maxTf) postings.maxTf = tf;
      if (length < postings.minLength) postings.minLength = length;
    }
    this.liveCount += 1;
    this.totalLength += length;
  }

  /** Rebuilds slots and postings without tombstones (terms keep their ids). */
  private compact(): void {
    const live = this.slots.filter((slot) => slot.live);
    this.slots = [];
    this.slotKeys = [];
    this.slotLengths = [];
    this.slotLive = [];
    this.slotOfKey.clear();
    for (const postings of this.postings) {
      postings.slots = [];
      postings.tfs = [];
      postings.df = 0;
      postings.maxTf = 0;
      postings.minLength = Number.POSITIVE_INFINITY;
    }
    this.liveCount = 0;
    this.deadCount = 0;
    this.totalLength = 0;
    for (const slot of live) this.insertSlot(slot.key, slot.length, slot.termFrequencies);
  }
}
