// Prefix affinity: remembers which backends recently served each prompt-prefix block hash (bounded LRU) and scores
// a candidate by how many leading blocks of the new prompt it has probably still got in its prefix cache.
import type { BackendState, SchedulingRequest, ScorerPlugin } from '../../../contracts.ts';

/** Backends remembered per block hash (most recent first): a popular prefix may live on a few replicas. */
const BACKENDS_PER_BLOCK = 4;

interface BlockEntry {
  /** Backend ids, most recent first, at most BACKENDS_PER_BLOCK. */
  backends: string[];
  /** Logical time of the last record(): eviction removes the oldest. */
  touchedAt: number;
}

/**
 * Bounded map block hash → backends. Touching an entry only bumps a counter (no Map delete/re-insert per block);
 * when the map outgrows its capacity by 10 %, the least recently touched tenth is evicted in one sweep, so the
 * per-request cost stays a few Map lookups per block.
 */
export class PrefixBlockIndex {
  private readonly entries = new Map<string, BlockEntry>();
  private tick = 0;
  private lastMatch: { hashes: readonly string[]; backendIds: string[]; tick: number; counts: number[] } | undefined;
  /** Last record() call: several plugins sharing this index may each pass the same served request on. */
  private lastRecorded: { hashes: readonly string[]; backendId: string } | undefined;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** Number of leading hashes whose entry lists backendId. */
  matchedBlocks(hashes: readonly string[], backendId: string): number {
    return this.matchAll(hashes, [backendId])[0]!;
  }

  /** Leading-block match counts for several backends in one pass over the hashes. */
  matchAll(hashes: readonly string[], backendIds: readonly string[]): number[] {
    // prefix-affinity and prefill-work ask the same question within one schedule(): answer it once.
    const memo = this.lastMatch;
    if (memo && memo.hashes === hashes && memo.tick === this.tick && sameIds(memo.backendIds, backendIds))
      return memo.counts;
    const counts = this.countMatches(hashes, backendIds);
    this.lastMatch = { hashes, backendIds: [...backendIds], tick: this.tick, counts };
    return counts;
  }

  /**
   * Hashes are chained: an entry for block k listing a backend means that backend served the whole prefix up to k.
   * So "block k lists b" holds for every k up to the deepest one b served, and a binary search finds that depth in
   * ~log2(n) lookups instead of n. (A popular early block may have pushed b out of its ≤ 4-backend list; the search
   * can then stop short, the same underestimate a front-to-back scan would make.)
   */
  private countMatches(hashes: readonly string[], backendIds: readonly string[]): number[] {
    return backendIds.map((backendId) => {
      let low = 0; // blocks [0, low) are known to list backendId
      let high = hashes.length; // blocks [high, n) are known not to
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (this.entries.get(hashes[middle]!)?.backends.includes(backendId)) low = middle + 1;
        else high = middle;
      }
      return low;
    });
  }

  record(hashes: readonly string[], backendId: string): void {
    if (this.lastRecorded?.hashes === hashes && this.lastRecorded.backendId === backendId) return;
    this.lastRecorded = { hashes, backendId };
    const tick = ++this.tick;
    for (const hash of hashes) {
      const entry = this.entries.get(hash);
      if (!entry) {
        this.entries.set(hash, { backends: [backendId], touchedAt: tick });
        continue;
      }
      entry.touchedAt = tick;
      const backends = entry.backends;
      if (backends[0] === backendId) continue;
      const at = backends.indexOf(backendId);
      if (at > 0) backends.splice(at, 1);
      backends.unshift(backendId);
      if (backends.length > BACKENDS_PER_BLOCK) backends.length = BACKENDS_PER_BLOCK;
    }
    if (this.entries.size > this.capacity + Math.max(1, Math.floor(this.capacity / 10))) this.evict();
  }

  forgetBackend(backendId: string): void {
    this.lastMatch = undefined;
    for (const [hash, entry] of this.entries) {
      const at = entry.backends.indexOf(backendId);
      if (at === -1) continue;
      entry.backends.splice(at, 1);
      if (entry.backends.length === 0) this.entries.delete(hash);
    }
  }

  /** Drop the least recently touched entries down to 90 % of capacity. */
  private evict(): void {
    const keep = Math.floor(this.capacity * 0.9);
    const excess = this.entries.size - keep;
    if (excess <= 0) return;
    const stamps = Array.from(this.entries.values(), (entry) => entry.touchedAt).sort((a, b) => a - b);
    const cutoff = stamps[excess - 1]!;
    let removed = 0;
    // Entries touched at exactly `cutoff` may be partly kept; go in insertion order until enough are gone.
    for (const [hash, entry] of this.entries) {
      if (entry.touchedAt < cutoff || (entry.touchedAt === cutoff && removed < excess)) {
        this.entries.delete(hash);
        removed++;
      }
    }
  }
}

function sameIds(first: readonly string[], second: readonly string[]): boolean {
  if (first.length !== second.length) return false;
  for (let index = 0; index < first.length; index++) if (first[index] !== second[index]) return false;
  return true;
}

export interface PrefixAffinityScorer extends ScorerPlugin {
  readonly index: PrefixBlockIndex;
  recordServed(request: SchedulingRequest, backendId: string): void;
}

/** Pass a shared index (the scheduler's) or a capacity for a private one. */
export function createPrefixAffinityScorer(indexOrCapacity: PrefixBlockIndex | number): PrefixAffinityScorer {
  const index = typeof indexOrCapacity === 'number' ? new PrefixBlockIndex(indexOrCapacity) : indexOrCapacity;
  return {
    name: 'prefix-affinity',
    index,
    score(request: SchedulingRequest, candidates: readonly BackendState[]): number[] {
      const total = request.prefixBlockHashes.length;
      if (total === 0) return candidates.map(() => 0);
      const matched = index.matchAll(
        request.prefixBlockHashes,
        candidates.map((backend) => backend.id),
      );
      return matched.map((count) => count / total);
    },
    recordServed(request, backendId) {
      index.record(request.prefixBlockHashes, backendId);
    },
  };
}
