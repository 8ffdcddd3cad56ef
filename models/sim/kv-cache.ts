// A paged KV cache the way vLLM v1 keeps it: fixed 16-token blocks, reference counts, and prefix caching by a chained
// block hash. A freed block keeps its hash and stays reusable until it is evicted (least recently freed first), so a
// repeated prefix finds its blocks again; usage counts only blocks some request holds.
import { createHash } from 'node:crypto';
import { KV_BLOCK_TOKENS } from '../sizing.ts';

export interface KvBlock {
  readonly id: number;
  refCount: number;
  /** Chained hash of the full block's tokens, when the block holds a complete prompt block. */
  hash: string | undefined;
}

export class KvCacheManager {
  readonly totalBlocks: number;
  readonly enablePrefixCaching: boolean;
  /** Blocks nobody holds, least recently freed first (JS Maps iterate in insertion order). */
  private readonly freeQueue = new Map<number, KvBlock>();
  private readonly cachedByHash = new Map<string, KvBlock>();

  constructor(totalBlocks: number, enablePrefixCaching = true) {
    if (!Number.isInteger(totalBlocks) || totalBlocks <= 0)
      throw new Error(`KV cache needs ≥ 1 block, got ${totalBlocks}`);
    this.totalBlocks = totalBlocks;
    this.enablePrefixCaching = enablePrefixCaching;
    for (let id = 0; id < totalBlocks; id++) this.freeQueue.set(id, { id, refCount: 0, hash: undefined });
  }

  get freeBlocks(): number {
    return this.freeQueue.size;
  }

  get usedBlocks(): number {
    return this.totalBlocks - this.freeQueue.size;
  }

  /** Fraction of blocks held by requests, 0..1 (vLLM's kv_cache_usage_perc). */
  get usage(): number {
    return this.usedBlocks / this.totalBlocks;
  }

  /** The cached blocks matching the longest prefix of `hashes`. */
  findCachedPrefix(hashes: readonly string[]): KvBlock[] {
    if (!this.enablePrefixCaching) return [];
    const found: KvBlock[] = [];
    for (const hash of hashes) {
      const block = this.cachedByHash.get(hash);
      if (!block) break;
      found.push(block);
    }
    return found;
  }

  /** How many free blocks taking these cached blocks would consume (the ones nobody holds now). */
  idleAmong(blocks: readonly KvBlock[]): number {
    return blocks.filter((block) => block.refCount === 0).length;
  }

  /** Take a reference on cached blocks. */
  acquire(blocks: readonly KvBlock[]): void {
    for (const block of blocks) {
      if (block.refCount === 0) this.freeQueue.delete(block.id);
      block.refCount++;
    }
  }

  /** `count` fresh blocks, evicting the least recently freed cached ones; undefined when not enough are free. */
  allocate(count: number): KvBlock[] | undefined {
    if (count > this.freeQueue.size) return undefined;
    const blocks: KvBlock[] = [];
    for (const block of this.freeQueue.values()) {
      if (blocks.length === count) break;
      blocks.push(block);
    }
    for (const block of blocks) {
      this.freeQueue.delete(block.id);
      if (block.hash !== undefined) {
        if (this.cachedByHash.get(block.hash) === block) this.cachedByHash.delete(block.hash);
        block.hash = undefined;
      }
      block.refCount = 1;
    }
    return blocks;
  }

  /** Drop a request's references; blocks are freed tail first so a prefix's head survives longest (as vLLM does). */
  release(blocks: readonly KvBlock[]): void {
    for (let index = blocks.length - 1; index >= 0; index--) {
      const block = blocks[index];
      if (!block) continue;
      block.refCount--;
      if (block.refCount === 0) this.freeQueue.set(block.id, block);
    }
  }

  /** Mark a block as holding the full prompt block `hash` so later requests can reuse it. */
  registerHash(block: KvBlock, hash: string): void {
    if (!this.enablePrefixCaching || block.hash !== undefined) return;
    if (this.cachedByHash.has(hash)) return;
    block.hash = hash;
    this.cachedByHash.set(hash, block);
  }

  /** Forget every cached prefix (vLLM's reset_prefix_cache). */
  resetPrefixCache(): void {
    for (const block of this.cachedByHash.values()) block.hash = undefined;
    this.cachedByHash.clear();
  }
}

/** Chained hashes of the full 16-token blocks of `tokens`: block i's hash covers every token before its end. */
export function blockHashes(tokens: readonly number[], salt = ''): string[] {
  const hashes: string[] = [];
  let parent = salt;
  const fullBlocks = Math.floor(tokens.length / KV_BLOCK_TOKENS);
  for (let block = 0; block < fullBlocks; block++) {
    const slice = tokens.slice(block * KV_BLOCK_TOKENS, (block + 1) * KV_BLOCK_TOKENS);
    parent = createHash('sha256').update(parent).update(slice.join(',')).digest('base64url').slice(0, 22);
    hashes.push(parent);
  }
  return hashes;
}
