// What a request adds to its backend's prefill backlog: its prompt minus the leading blocks that backend probably
// still has in its prefix cache (as the prefix-affinity scorer judged when it was picked).
import type { SchedulingRequest, ScoredBackend } from './contracts.ts';
import { DEFAULT_PREFIX_BLOCK_TOKENS } from './prefix-hash.ts';

/**
 * Prompt tokens the picked backend will have to prefill: `promptTokens − matched blocks × blockTokens`, where the
 * matched blocks come from the `prefix-affinity` score (share of the request's hashed blocks). Without that scorer
 * in the profile the whole prompt counts. Use it for `BackendState.pendingPrefillTokens`.
 */
export function estimateUncachedPromptTokens(
  request: SchedulingRequest,
  picked: ScoredBackend | undefined,
  blockTokens: number = DEFAULT_PREFIX_BLOCK_TOKENS,
): number {
  const share = picked?.perScorer['prefix-affinity'] ?? picked?.perScorer['bounded-prefix-affinity'] ?? 0;
  const matchedTokens = Math.round(share * request.prefixBlockHashes.length) * blockTokens;
  return Math.max(0, request.promptTokens - matchedTokens);
}
