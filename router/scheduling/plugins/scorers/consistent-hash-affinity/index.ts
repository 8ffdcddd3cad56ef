// Consistent-hash affinity: the owner of a session or of a prompt's leading blocks is a pure function of the key and
// the candidate ids (rendezvous hashing), so every router replica that sees the same replica set sends a
// conversation, or every request sharing a system prompt, to the same vLLM replica without sharing any state.
// Removing a replica moves only the keys it owned; the ranking below the owner is just as deterministic, so a
// saturated owner's traffic lands on the same second choice from every router.
import type { BackendState, SchedulingRequest, ScorerPlugin } from '../../../contracts.ts';

export interface ConsistentHashAffinityOptions {
  /** The prefix key is the chained hash of the first `keyBlocks` blocks; shorter prompts (little to cache) get none. */
  keyBlocks: number;
}

/** 32-bit FNV-1a of key + separator + backend id, finished with a murmur3-style mix so close ids spread. */
function weight(key: string, id: string): number {
  let hash = 0x811c9dc5;
  const text = `${key}\u0000${id}`;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** The affinity key of a request: its session when it names one, else its leading prefix blocks. */
export function affinityKey(request: SchedulingRequest, keyBlocks: number): string | undefined {
  if (request.sessionKey !== undefined && request.sessionKey !== '') return `s:${request.sessionKey}`;
  const block = request.prefixBlockHashes[keyBlocks - 1];
  return block === undefined ? undefined : `p:${block}`;
}

/** Candidate ids ordered by rendezvous weight for `key`, owner first (ties by id, so the order is total). */
export function rendezvousOrder(key: string, ids: readonly string[]): string[] {
  return ids
    .map((id) => ({ id, weight: weight(key, id) }))
    .sort((a, b) => b.weight - a.weight || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((entry) => entry.id);
}

export function createConsistentHashAffinityScorer(options: ConsistentHashAffinityOptions): ScorerPlugin {
  return {
    name: 'consistent-hash-affinity',
    score(request: SchedulingRequest, candidates: readonly BackendState[]): number[] {
      const key = affinityKey(request, options.keyBlocks);
      if (key === undefined || candidates.length === 0) return candidates.map(() => 0);
      const weights = candidates.map((backend) => weight(key, backend.id));
      // Owner 1, the rest by rank: 2^-rank keeps the fallback order deterministic too.
      const ranks = weights
        .map((value, index) => ({ value, index, id: candidates[index]!.id }))
        .sort((a, b) => b.value - a.value || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const scores = new Array<number>(candidates.length).fill(0);
      ranks.forEach((entry, rank) => {
        scores[entry.index] = 2 ** -rank;
      });
      return scores;
    },
  };
}
