// The cache scope: everything outside the request body that can change the answer a caller may see. Two requests
// share a cached answer only when their scopes are equal, in the exact cache and in the semantic cache alike.
//   tenant   the key (default), its team (`cache.scope: team`), or nobody (`cache.scope: shared`, an explicit opt-in)
//   policy   the merged guardrail policy (a key whose profile redacts PII never sees an answer stored unredacted)
//   prompt   the prompt registry's name, version and template hash, when the body named one
//   route    the pools the model's route goes through (a changed route can change the answer)
import { createHash } from 'node:crypto';

export type CacheSharing = 'key' | 'team' | 'shared';

export interface CacheScopeParts {
  sharing: CacheSharing;
  key: { id: string; team: string } | undefined;
  policy: unknown;
  prompt: { name: string; version: string | number; hash: string } | undefined;
  route: string;
}

function tenantOf(parts: CacheScopeParts): string {
  if (parts.sharing === 'shared') return 'shared';
  if (!parts.key) return 'anonymous';
  return parts.sharing === 'team' ? `team:${parts.key.team}` : `key:${parts.key.id}`;
}

/** One string per scope; hashed so a cache key never carries key ids or policy text. */
export function cacheScope(parts: CacheScopeParts): string {
  const prompt = parts.prompt ? `${parts.prompt.name}@${parts.prompt.version}#${parts.prompt.hash}` : '';
  return createHash('sha256')
    .update(JSON.stringify([tenantOf(parts), parts.policy ?? null, prompt, parts.route]))
    .digest('hex');
}
