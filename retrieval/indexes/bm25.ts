// BM25 with Lucene's formula over postings lists, scored term-at-a-time (only documents containing a query term are
// touched), or, with `pruning`, multi-term queries document-at-a-time with MaxScore (exact). Score of a document d for query q:
//   sum over query terms t: idf(t) * tf / (tf + k1 * (1 - b + b * |d| / avgdl))
//   idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))
// This is Lucene's BM25Similarity (which dropped the constant (k1 + 1) numerator factor) with exact document lengths
// instead of Lucene's one-byte length encoding. Deletes are tombstones skipped at scoring time and compacted away once
// they are a quarter of the slots; N, df and avgdl always count live documents only. Storage is columnar typed arrays
// (bm25-postings.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import type { KeyFilter, LexicalIndex, SearchHit, TextItem } from '../contracts.ts';
import { TopK } from '../search/top-k.ts';
import { englishAnalyzer, type Analyzer } from './analyzer.ts';
import { maxScoreSearch, type ScoringTerm } from './bm25-maxscore.ts';
import { Bm25Postings } from './bm25-postings.ts';
import { decodeBm25, encodeBm25 } from './bm25-snapshot.ts';

// k1 = 1.5, b = 0.5: the best of a k1 × b grid on CACM (a plateau with k1 2 / b 0.3–0.5; Lucene's 1.2 / 0.75 is
// 0.025 nDCG@10 lower there; retrieval/README.md).
export const Bm25ConfigSchema = z.object({
  k1: z.number().nonnegative().default(1.5),
  b: z.number().min(0).max(1).default(0.5),
});
export type Bm25Config = z.infer<typeof Bm25ConfigSchema>;

// Snapshot format 2 is binary (bm25-snapshot.ts); format 1 (JSON) is still read.
const SavedJsonSchema = z.object({
  format: z.literal('switchyard-bm25'),
  version: z.literal(1),
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
  private readonly postings = new Bm25Postings();
  private liveCount = 0;
  private totalLength = 0;
  private scores = new Float64Array(0);

  /**
   * MaxScore pruning for multi-term queries (exact). Off by default: in the scale runs its gain against exhaustive
   * scoring was not reliable on 2–4-term queries (retrieval/README.md).
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

  /** Distinct analysed terms ever indexed (ids are kept across deletes). */
  get vocabularySize(): number {
    return this.terms.length;
  }

  /** (document, distinct term) pairs stored, deleted documents included until compaction. */
  get postingCount(): number {
    return this.postings.postingCount;
  }

  has(key: number): boolean {
    return this.postings.slotOfKey.has(key);
  }

  add(items: readonly TextItem[]): void {
    for (const item of items) this.addTerms(item.key, this.analyzer.terms(item.text));
  }

  delete(keys: readonly number[]): number {
    let removed = 0;
    const postings = this.postings;
    for (const key of keys) {
      const slot = postings.slotOfKey.get(key);
      if (slot === undefined) continue;
      this.totalLength -= postings.kill(slot);
      this.liveCount -= 1;
      removed += 1;
    }
    if (postings.deadCount > 64 && postings.deadCount * 4 > postings.slotCount) postings.build(true);
    return removed;
  }

  /** The idf of an analysed term (exposed for tests and explanations). */
  idf(term: string): number {
    return this.idfOf(this.documentFrequency(term));
  }

  /** The analysed terms of a text (what search and add see). */
  analyze(text: string): string[] {
    return this.analyzer.terms(text);
  }

  /** Term frequencies and length of an indexed document (for pseudo-relevance feedback); null when unknown. */
  termVector(key: number): { length: number; terms: Map<string, number> } | null {
    const slot = this.postings.slotOfKey.get(key);
    if (slot === undefined) return null;
    const terms = new Map<string, number>();
    this.postings.forEachTerm(slot, (termId, tf) => terms.set(this.terms[termId] as string, tf));
    return { length: this.postings.slotLengths[slot] as number, terms };
  }

  /** Live documents containing an analysed term. */
  documentFrequency(term: string): number {
    const termId = this.termIds.get(term);
    return termId === undefined ? 0 : (this.postings.termDf[termId] as number);
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
    const postings = this.postings;
    if (this.scores.length < postings.slotCount) this.scores = new Float64Array(postings.slotCount * 2);
    const scores = this.scores;
    const touched: number[] = [];
    const averageLength = this.totalLength / this.liveCount;
    // normaliser(d) = k1 · (1 − b + b · |d| / avgdl) = base + perToken · |d|
    const base = this.k1 * (1 - this.b);
    const perToken = (this.k1 * this.b) / averageLength;
    const { slotKeys, slotLengths, slotLive, mainSlots, mainTfs, mainOffsets } = postings;
    const score = (slot: number, tf: number, weight: number): void => {
      if (slotLive[slot] === 0) return;
      if (filter !== undefined && !filter(slotKeys[slot] as number)) return;
      const previous = scores[slot] as number;
      if (previous === 0) touched.push(slot);
      scores[slot] = previous + (weight * tf) / (tf + base + perToken * (slotLengths[slot] as number));
    };
    for (const [termId, queryCount] of queryTerms) {
      const df = postings.termDf[termId] as number;
      if (df === 0) continue;
      const weight = queryCount * this.idfOf(df);
      if (termId < postings.mainTermCount) {
        const to = mainOffsets[termId + 1] as number;
        for (let i = mainOffsets[termId] as number; i < to; i += 1)
          score(mainSlots[i] as number, mainTfs[i] as number, weight);
      }
      const tail = postings.tail.get(termId);
      if (tail !== undefined)
        for (let i = 0; i < tail.length; i += 2) score(tail[i] as number, tail[i + 1] as number, weight);
    }
    const top = new TopK(k);
    for (const slot of touched) {
      top.offer(slotKeys[slot] as number, scores[slot] as number);
      scores[slot] = 0;
    }
    return top.result();
  }

  /** Document-at-a-time with MaxScore pruning (bm25-maxscore.ts); same hits as exhaustive scoring. */
  private searchMaxScore(queryTerms: ReadonlyMap<number, number>, k: number, filter?: KeyFilter): SearchHit[] {
    const postings = this.postings;
    const averageLength = this.totalLength / this.liveCount;
    const base = this.k1 * (1 - this.b);
    const perToken = (this.k1 * this.b) / averageLength;
    const terms: ScoringTerm[] = [];
    for (const [termId, queryWeight] of queryTerms) {
      const df = postings.termDf[termId] as number;
      if (df === 0) continue;
      const weight = queryWeight * this.idfOf(df);
      // tf / (tf + norm) grows with tf and shrinks with |d|: the largest tf over the shortest document bounds it.
      const maxTf = postings.termMaxTf[termId] as number;
      const upperBound = (weight * maxTf) / (maxTf + base + perToken * (postings.termMinLength[termId] as number));
      terms.push({ ...postings.postingsOf(termId), weight, upperBound });
    }
    return maxScoreSearch(
      terms,
      { keys: postings.slotKeys, lengths: postings.slotLengths, live: postings.slotLive, base, perToken },
      k,
      filter,
    );
  }

  save(path: string): void {
    writeFileSync(path, encodeBm25({ k1: this.k1, b: this.b, terms: this.terms, ...this.postings.liveColumns() }));
  }

  static load(path: string, analyzer: Analyzer = englishAnalyzer): Bm25Index {
    return Bm25Index.fromBytes(readFileSync(path), analyzer);
  }

  /** Reads a snapshot (binary format 2, or the JSON format 1) and builds the postings in one pass. */
  static fromBytes(bytes: Buffer, analyzer: Analyzer = englishAnalyzer): Bm25Index {
    if (bytes[0] === 0x7b) return Bm25Index.fromJson(bytes, analyzer); // '{': format 1
    const saved = decodeBm25(bytes);
    const index = new Bm25Index({ k1: saved.k1, b: saved.b }, analyzer);
    for (const term of saved.terms) index.termId(term);
    const { keys, lengths, starts, termIds, tfs } = saved;
    for (let row = 0; row < keys.length; row += 1) {
      const from = starts[row] as number;
      const to = starts[row + 1] as number;
      index.insertSlot(
        keys[row] as number,
        lengths[row] as number,
        termIds.subarray(from, to),
        tfs.subarray(from, to),
        true,
      );
    }
    index.postings.build(false);
    return index;
  }

  private static fromJson(bytes: Buffer, analyzer: Analyzer): Bm25Index {
    const saved = SavedJsonSchema.parse(JSON.parse(bytes.toString('utf8')));
    const index = new Bm25Index({ k1: saved.k1, b: saved.b }, analyzer);
    for (const term of saved.terms) index.termId(term);
    for (const [key, length, pairs] of saved.documents) {
      const termIds = pairs.filter((_value, i) => i % 2 === 0);
      if (termIds.some((termId) => termId < 0 || termId >= saved.terms.length))
        throw new Error('BM25 snapshot: term id out of range');
      index.insertSlot(
        key,
        length,
        termIds,
        pairs.filter((_value, i) => i % 2 === 1),
        true,
      );
    }
    index.postings.build(false);
    return index;
  }

  private idfOf(df: number): number {
    return Math.log(1 + (this.liveCount - df + 0.5) / (df + 0.5));
  }

  private termId(term: string): number {
    let termId = this.termIds.get(term);
    if (termId === undefined) {
      termId = this.postings.addTerm();
      this.termIds.set(term, termId);
      this.terms.push(term);
    }
    return termId;
  }

  private addTerms(key: number, terms: readonly string[]): void {
    if (this.postings.slotOfKey.has(key)) this.delete([key]);
    const counts = new Map<number, number>();
    for (const term of terms) {
      const termId = this.termId(term);
      counts.set(termId, (counts.get(termId) ?? 0) + 1);
    }
    this.insertSlot(key, terms.length, [...counts.keys()], [...counts.values()], false);
  }

  private insertSlot(
    key: number,
    length: number,
    termIds: ArrayLike<number>,
    tfs: ArrayLike<number>,
    bulk: boolean,
  ): void {
    if (this.postings.slotOfKey.has(key)) throw new Error(`BM25: key ${key} indexed twice`);
    this.postings.appendSlot(key, length, termIds, tfs, bulk);
    this.liveCount += 1;
    this.totalLength += length;
  }
}
