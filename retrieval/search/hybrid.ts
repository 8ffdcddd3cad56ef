// Query pipeline: filters → (lexical ∥ query embedding → vector) → weighted RRF → cross-encoder → top k.
// `lexical-prf` is BM25 with RM3 pseudo-relevance feedback (prf.ts), lexical only.
// The BM25 search runs while the query embedding is computed (the model call is asynchronous). Each stage's scores
// keep their honest names: BM25 score, cosine similarity, RRF score, cross-encoder logit. Without an embedder the
// vector stages degrade to BM25 with a warning; without a reranker, rerank mode degrades to hybrid.
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import type { Chunk, ChunkMetadata, Embedder, KeyFilter, Reranker, SearchHit } from '../contracts.ts';
import type { Bm25Index } from '../indexes/bm25.ts';
import type { HnswIndex } from '../indexes/hnsw.ts';
import type { ChunkStore } from '../store/chunk-store.ts';
import { FiltersSchema } from '../store/filters.ts';
import { searchWithFeedback } from './prf.ts';
import { reciprocalRankFusion } from './rrf.ts';

export const SearchModeSchema = z.enum(['lexical', 'lexical-prf', 'vector', 'hybrid', 'rerank']);
export type SearchMode = z.infer<typeof SearchModeSchema>;

export const SearchRequestSchema = z.object({
  query: z.string().trim().min(1, 'query must not be empty').max(10_000),
  mode: SearchModeSchema.default('hybrid'),
  topK: z.number().int().min(1).max(1000).default(5),
  /** Hits taken from each retriever before fusion. */
  candidates: z.number().int().min(1).max(10_000).default(50),
  /** Fused hits sent to the cross-encoder. */
  rerankCandidates: z.number().int().min(1).max(1000).default(20),
  /** Unset: the embedder's measured fusion defaults (Embedder.fusion), else 1 / 1. */
  weights: z.object({ lexical: z.number().min(0).default(1), vector: z.number().min(0).default(1) }).optional(),
  /** Unset: the embedder's measured default, else 60. */
  rrfK: z.number().positive().optional(),
  filters: FiltersSchema.optional(),
});
export type SearchRequest = z.infer<typeof SearchRequestSchema>;

export interface StageScore {
  rank: number;
  score: number;
}

export interface SearchResultHit {
  key: number;
  chunkId: string;
  documentId: string;
  text: string;
  metadata: ChunkMetadata;
  /** The score of the last stage that ran. */
  score: number;
  scores: { lexical?: StageScore; vector?: StageScore; fused?: StageScore; rerank?: StageScore };
}

export interface SearchTimings {
  filterMs: number;
  embedMs: number;
  lexicalMs: number;
  vectorMs: number;
  fusionMs: number;
  rerankMs: number;
  fetchMs: number;
  totalMs: number;
}

export interface SearchResponse {
  mode: SearchMode;
  /** What actually ran after degradation. */
  effectiveMode: SearchMode;
  hits: SearchResultHit[];
  timings: SearchTimings;
  warnings: string[];
}

export interface SearchableIndex {
  store: ChunkStore;
  bm25: Bm25Index;
  hnsw: HnswIndex | null;
  embedder: Embedder | null;
  reranker: Reranker | null;
  notes: { embedderError: string | null; rerankerError: string | null };
  clock: () => number;
}

function elapsed(since: number): number {
  return performance.now() - since;
}

export async function searchIndex(
  index: SearchableIndex,
  input: z.input<typeof SearchRequestSchema>,
): Promise<SearchResponse> {
  const request = SearchRequestSchema.parse(input);
  const started = performance.now();
  const timings: SearchTimings = {
    filterMs: 0,
    embedMs: 0,
    lexicalMs: 0,
    vectorMs: 0,
    fusionMs: 0,
    rerankMs: 0,
    fetchMs: 0,
    totalMs: 0,
  };
  const warnings: string[] = [];
  let mode = request.mode;
  const vectorsAvailable = index.hnsw !== null && index.embedder !== null;
  if (mode !== 'lexical' && mode !== 'lexical-prf' && !vectorsAvailable) {
    warnings.push(`Embedder unavailable (${index.notes.embedderError ?? 'unknown reason'}); using BM25 only.`);
    mode = 'lexical';
  }
  if (mode === 'rerank' && index.reranker === null) {
    warnings.push(`Reranker unavailable (${index.notes.rerankerError ?? 'unknown reason'}); returning hybrid results.`);
    mode = 'hybrid';
  }

  let filter: KeyFilter | undefined;
  if (request.filters !== undefined && Object.keys(request.filters).length > 0) {
    const stage = performance.now();
    const admitted = index.store.filterKeys(request.filters, index.clock());
    filter = (key) => admitted.has(key);
    timings.filterMs = elapsed(stage);
  }

  const useLexical = mode !== 'vector';
  const useVector = mode === 'vector' || mode === 'hybrid' || mode === 'rerank';
  const fused = mode === 'hybrid' || mode === 'rerank';
  const perRetriever = fused ? Math.max(request.candidates, request.topK) : request.topK;

  // Start the query embedding first so BM25 runs while the model works.
  const embedStarted = performance.now();
  const embedding =
    useVector && index.embedder !== null
      ? index.embedder.embed([request.query], 'query').then((vectors) => {
          timings.embedMs = elapsed(embedStarted);
          return vectors[0] as Float32Array;
        })
      : null;
  let lexicalHits: SearchHit[] = [];
  if (useLexical) {
    const stage = performance.now();
    lexicalHits =
      mode === 'lexical-prf'
        ? searchWithFeedback(index.bm25, request.query, perRetriever, {}, filter)
        : index.bm25.search(request.query, perRetriever, filter);
    timings.lexicalMs = elapsed(stage);
  }
  let vectorHits: SearchHit[] = [];
  if (embedding !== null && index.hnsw !== null) {
    const queryVector = await embedding;
    const stage = performance.now();
    vectorHits = index.hnsw.search(queryVector, perRetriever, filter);
    timings.vectorMs = elapsed(stage);
  }

  const scores = new Map<number, SearchResultHit['scores']>();
  const scoresOf = (key: number): SearchResultHit['scores'] => {
    let entry = scores.get(key);
    if (entry === undefined) {
      entry = {};
      scores.set(key, entry);
    }
    return entry;
  };
  lexicalHits.forEach((hit, i) => (scoresOf(hit.key).lexical = { rank: i + 1, score: hit.score }));
  vectorHits.forEach((hit, i) => (scoresOf(hit.key).vector = { rank: i + 1, score: hit.score }));

  let ranked: SearchHit[];
  if (fused) {
    const stage = performance.now();
    const fusion = index.embedder?.fusion;
    const weights = request.weights ?? { lexical: 1, vector: fusion?.vectorWeight ?? 1 };
    const fusedHits = reciprocalRankFusion(
      [
        { name: 'lexical', weight: weights.lexical, hits: lexicalHits },
        { name: 'vector', weight: weights.vector, hits: vectorHits },
      ],
      request.rrfK ?? fusion?.rrfK ?? 60,
    );
    fusedHits.forEach((hit, i) => (scoresOf(hit.key).fused = { rank: i + 1, score: hit.score }));
    ranked = fusedHits.map((hit) => ({ key: hit.key, score: hit.score }));
    timings.fusionMs = elapsed(stage);
  } else {
    ranked = useLexical ? lexicalHits : vectorHits;
  }

  let chunks = new Map<number, Chunk>();
  if (mode === 'rerank' && index.reranker !== null) {
    const candidates = ranked.slice(0, Math.max(request.rerankCandidates, request.topK));
    let stage = performance.now();
    chunks = index.store.chunks(candidates.map((hit) => hit.key));
    timings.fetchMs += elapsed(stage);
    stage = performance.now();
    const present = candidates.filter((hit) => chunks.has(hit.key));
    const logits = await index.reranker.score(
      request.query,
      present.map((hit) => (chunks.get(hit.key) as Chunk).text),
    );
    ranked = present
      .map((hit, i) => ({ key: hit.key, score: logits[i] as number }))
      .sort((a, b) => b.score - a.score || (scoresOf(a.key).fused?.rank ?? 0) - (scoresOf(b.key).fused?.rank ?? 0));
    ranked.forEach((hit, i) => (scoresOf(hit.key).rerank = { rank: i + 1, score: hit.score }));
    timings.rerankMs = elapsed(stage);
  }

  const top = ranked.slice(0, request.topK);
  const stage = performance.now();
  const missing = top.filter((hit) => !chunks.has(hit.key)).map((hit) => hit.key);
  for (const [key, chunk] of index.store.chunks(missing)) chunks.set(key, chunk);
  timings.fetchMs += elapsed(stage);
  const hits: SearchResultHit[] = top
    .filter((hit) => chunks.has(hit.key))
    .map((hit) => {
      const chunk = chunks.get(hit.key) as Chunk;
      return {
        key: hit.key,
        chunkId: chunk.id,
        documentId: chunk.metadata.documentId,
        text: chunk.text,
        metadata: chunk.metadata,
        score: hit.score,
        scores: scoresOf(hit.key),
      };
    });
  timings.totalMs = elapsed(started);
  return { mode: request.mode, effectiveMode: mode, hits, timings, warnings };
}
