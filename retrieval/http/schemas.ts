// Request schemas of the retrieval endpoints.
import { z } from 'zod';
import { SearchModeSchema } from '../search/hybrid.ts';
import { FiltersSchema } from '../store/filters.ts';

export const RetrieveRequestSchema = z.object({
  query: z.string().trim().min(1, 'must not be empty').max(10_000),
  index: z.string().min(1).default('default'),
  top_k: z.number().int().min(1).max(100).default(5),
  filters: FiltersSchema.optional(),
  /** lexical | lexical-prf (BM25 + RM3) | vector | hybrid (| rerank, same as hybrid with rerank: true). */
  mode: SearchModeSchema.default('hybrid'),
  /** Cross-encoder over the fused candidates; default on for hybrid when a reranker is configured. */
  rerank: z.boolean().optional(),
  candidates: z.number().int().min(1).max(1000).default(50),
  rerank_candidates: z.number().int().min(1).max(200).default(20),
  weights: z.object({ lexical: z.number().min(0).default(1), vector: z.number().min(0).default(1) }).optional(),
  /** Unset: the index embedder's measured default (retrieval/README.md), else 60. */
  rrf_k: z.number().positive().max(10_000).optional(),
});

const RerankDocument = z.union([z.string(), z.object({ text: z.string() })]);

/** Cohere/Jina-style rerank request. */
export const RerankRequestSchema = z.object({
  model: z.string().min(1).optional(),
  query: z.string().trim().min(1, 'must not be empty').max(10_000),
  documents: z.array(RerankDocument).min(1).max(1000),
  top_n: z.number().int().min(1).optional(),
  return_documents: z.boolean().default(true),
});

/** OpenAI embeddings request (token-id inputs are recognised to reject them clearly). */
export const EmbeddingsRequestSchema = z.object({
  model: z.string().min(1),
  input: z.union([
    z.string().min(1, 'must not be empty'),
    z.array(z.string().min(1, 'must not be empty')).min(1).max(2048),
    z.array(z.number().int()).min(1),
    z.array(z.array(z.number().int()).min(1)).min(1),
  ]),
  encoding_format: z.enum(['float', 'base64']).default('float'),
  dimensions: z.number().int().min(1).optional(),
  user: z.string().optional(),
});
