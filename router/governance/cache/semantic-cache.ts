// Semantic cache index: on an exact-cache miss, the request's last user message is embedded and the nearest cached
// prompt is looked up in an HNSW index (cosine). Only the last user message is compared semantically; everything
// else — cache scope, endpoint, model, system prompt, earlier turns, tools and every sampling parameter — must match exactly, so it
// goes into a `partition` hash and the search only admits entries of the same partition. Entries point at an answer
// stored in the exact cache (by its exact key), so answers are stored once, inside the exact cache's byte budget; an
// entry whose answer was evicted there is dropped when found. Bounded in entries (oldest first, HNSW markDelete) and
// TTL. A small partition (multi-turn chats make many, one entry each) is scanned exactly instead: hnswlib's filtered
// search has to walk most of the graph to find a few admitted labels (~12 ms at 10k entries vs ~0.4 ms unfiltered).
import type { VectorIndex } from '../../../retrieval/contracts.ts';
import { textOf } from '../guardrails/input.ts';
import { cacheKey } from './response-cache.ts';

/** Replaces the semantically compared text in the partition key. */
const COMPARED_TEXT = '\u0000semantic-cache:compared-text\u0000';

export interface SemanticRequest {
  /** Hash of everything that must match exactly. */
  partition: string;
  /** The text compared semantically (the final user message, or the completion prompt). */
  text: string;
}

/**
 * The partition and compared text of a request, or undefined when it cannot be compared semantically: the final
 * chat message must be the user's with text-only content; a completion needs one string prompt.
 */
export function semanticRequest(
  endpoint: string,
  body: Readonly<Record<string, unknown>>,
  scope = '',
): SemanticRequest | undefined {
  if (endpoint === 'completions') {
    if (typeof body['prompt'] !== 'string') return undefined;
    return { partition: cacheKey(endpoint, { ...body, prompt: COMPARED_TEXT }, scope), text: body['prompt'] };
  }
  if (endpoint !== 'chat' || !Array.isArray(body['messages']) || body['messages'].length === 0) return undefined;
  const messages = body['messages'] as unknown[];
  const last = messages[messages.length - 1] as Record<string, unknown> | null | undefined;
  if (!last || typeof last !== 'object' || last['role'] !== 'user' || !isTextOnly(last['content'])) return undefined;
  const partition = cacheKey(
    endpoint,
    { ...body, messages: [...messages.slice(0, -1), { ...last, content: COMPARED_TEXT }] },
    scope,
  );
  return { partition, text: textOf(last['content']) };
}

function isTextOnly(content: unknown): boolean {
  if (typeof content === 'string') return true;
  return (
    Array.isArray(content) &&
    content.every(
      (part: unknown) => Boolean(part) && typeof part === 'object' && (part as { type?: unknown }).type === 'text',
    )
  );
}

interface Entry {
  partition: string;
  exactKey: string;
  expiresAt: number;
  /** L2-normalised, for the exact scan of small partitions. */
  vector: Float32Array;
}

export interface SemanticCacheOptions {
  /** An empty cosine vector index (HNSW in production). */
  index: VectorIndex;
  threshold: number;
  maxEntries: number;
  ttlSeconds: number;
  /** Partitions with at most this many entries are scanned exactly instead of searched in the HNSW graph. */
  exactScanLimit?: number;
  clock?: () => number;
}

export interface SemanticMatch {
  exactKey: string;
  similarity: number;
  label: number;
}

export class SemanticCache {
  /** Label → entry, in insertion order (= expiry order: every entry lives ttlSeconds). */
  private readonly entries = new Map<number, Entry>();
  private readonly labels = new Map<string, number>();
  private readonly partitions = new Map<string, Set<number>>();
  private nextLabel = 0;
  private readonly clock: () => number;

  constructor(private readonly options: SemanticCacheOptions) {
    this.clock = options.clock ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The nearest live entry of the same partition, if at or above the threshold. */
  lookup(partition: string, vector: Float32Array): SemanticMatch | undefined {
    const now = this.clock();
    this.purgeExpired(now);
    const members = this.partitions.get(partition);
    if (!members) return undefined;
    const best =
      members.size <= (this.options.exactScanLimit ?? 256)
        ? this.scan(members, normalised(vector))
        : this.options.index.search(vector, 1, (label) => this.entries.get(label)?.partition === partition)[0];
    if (!best || best.score < this.options.threshold) return undefined;
    const entry = this.entries.get(best.key) as Entry;
    return { exactKey: entry.exactKey, similarity: best.score, label: best.key };
  }

  /** Indexes a stored answer; a second entry for the same exact key replaces the first. */
  add(partition: string, vector: Float32Array, exactKey: string): void {
    const now = this.clock();
    this.purgeExpired(now);
    const existing = this.labels.get(exactKey);
    if (existing !== undefined) this.remove(existing);
    while (this.entries.size >= this.options.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.remove(oldest.value);
    }
    const label = this.nextLabel;
    this.nextLabel += 1;
    this.options.index.add([{ key: label, vector }]);
    this.entries.set(label, {
      partition,
      exactKey,
      expiresAt: now + this.options.ttlSeconds * 1000,
      vector: normalised(vector),
    });
    this.labels.set(exactKey, label);
    let members = this.partitions.get(partition);
    if (!members) {
      members = new Set();
      this.partitions.set(partition, members);
    }
    members.add(label);
  }

  private scan(members: ReadonlySet<number>, query: Float32Array): { key: number; score: number } | undefined {
    let best: { key: number; score: number } | undefined;
    for (const label of members) {
      const stored = (this.entries.get(label) as Entry).vector;
      let score = 0;
      for (let i = 0; i < query.length; i += 1) score += (query[i] as number) * (stored[i] as number);
      if (!best || score > best.score) best = { key: label, score };
    }
    return best;
  }

  /** Drops an entry (its answer is gone from the exact cache, or it was evicted). */
  remove(label: number): void {
    const entry = this.entries.get(label);
    if (!entry) return;
    this.entries.delete(label);
    if (this.labels.get(entry.exactKey) === label) this.labels.delete(entry.exactKey);
    const members = this.partitions.get(entry.partition);
    members?.delete(label);
    if (members?.size === 0) this.partitions.delete(entry.partition);
    this.options.index.delete([label]);
  }

  private purgeExpired(now: number): void {
    for (const [label, entry] of this.entries) {
      if (entry.expiresAt > now) break;
      this.remove(label);
    }
  }
}

function normalised(vector: Float32Array): Float32Array {
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  return norm > 0 ? vector.map((value) => value / norm) : vector.slice();
}
