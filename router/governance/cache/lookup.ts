// The cache step of admission: the exact cache, then (on an exact miss, when on) the semantic cache. A semantic miss
// returns the request's embedding so settle can index the answer without embedding again.
import type { CacheResult } from '../contracts.ts';
import type { EmbedOnce, SemanticCandidate, SemanticFeatures } from '../semantic-features.ts';
import { cacheKey, isCacheable, type CachedAnswer, type ResponseCache } from './response-cache.ts';

export interface CacheLookup {
  cache: { key: string | undefined; hit: CachedAnswer | undefined; result: CacheResult };
  /** Set on a semantic miss: what to index once the answer is stored. */
  candidate: SemanticCandidate | undefined;
  /** Set on a semantic hit. */
  similarity: number | undefined;
}

export async function lookupCaches(step: {
  exact: ResponseCache;
  semantic: SemanticFeatures | undefined;
  embed: EmbedOnce | undefined;
  endpoint: string;
  body: Readonly<Record<string, unknown>>;
  /** Everything outside the body that can change the answer a caller sees (cache/scope.ts). */
  scope: string;
  /** The x-switchyard-cache request header: `on` opts in, `exact` skips the semantic cache (`off` never gets here). */
  cacheControl: string | undefined;
}): Promise<CacheLookup> {
  const { exact, semantic, embed, endpoint, body } = step;
  if (!isCacheable(body, step.cacheControl === 'on')) {
    return { cache: { key: undefined, hit: undefined, result: 'bypass' }, candidate: undefined, similarity: undefined };
  }
  const key = cacheKey(endpoint, body, step.scope);
  const hit = exact.get(key);
  if (hit) return { cache: { key, hit, result: 'hit' }, candidate: undefined, similarity: undefined };
  if (semantic?.semanticCacheOn && embed && step.cacheControl !== 'exact') {
    const found = await semantic.lookup(endpoint, body, exact, embed, step.scope);
    if (found.kind === 'hit') {
      return {
        cache: { key, hit: found.answer, result: 'semantic-hit' },
        candidate: undefined,
        similarity: found.similarity,
      };
    }
    return { cache: { key, hit: undefined, result: 'miss' }, candidate: found.candidate, similarity: undefined };
  }
  return { cache: { key, hit: undefined, result: 'miss' }, candidate: undefined, similarity: undefined };
}
