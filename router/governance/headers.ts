// The response and request headers governance reads and writes, and the max_tokens it reserves for by default.
export const HEADER_COST = 'x-switchyard-cost-usd';
export { HEADER_COST_RESERVED } from './admission-limits.ts';
export const HEADER_CACHE = 'x-switchyard-cache';
export const HEADER_PROMPT = 'x-switchyard-prompt';
export const HEADER_GUARDRAILS = 'x-switchyard-guardrails';
/** Cosine similarity of a semantic-cache hit to the cached prompt. */
export const HEADER_CACHE_SIMILARITY = 'x-switchyard-cache-similarity';
/** Request header: `on` caches a non-zero-temperature request, `exact` skips the semantic cache, `off` bypasses both. */
export const HEADER_CACHE_CONTROL = 'x-switchyard-cache';

/** Tokens reserved when neither the request, the key nor the model config sets max_tokens. */
export const FALLBACK_MAX_TOKENS = 4096;
