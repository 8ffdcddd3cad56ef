// Approximate nearest neighbours with hnswlib-node. Labels are the chunk keys. Deletes use markDelete and their slots
// are reused by later adds (allowReplaceDeleted); the index grows by doubling. Scores are similarities
// (1 - hnswlib's distance), so higher is better for both spaces.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Hnswlib from 'hnswlib-node';
import type { HierarchicalNSW as HierarchicalNswType } from 'hnswlib-node';
import { z } from 'zod';
import type { KeyFilter, SearchHit, VectorIndex, VectorItem } from '../contracts.ts';
import { assertHnswlibBuildRunsHere } from '../native/hnswlib-build.ts';
import { compareHits } from '../search/top-k.ts';
import { assertDimensions, BruteForceIndex, type VectorSpace } from './brute-force.ts';

const require = createRequire(import.meta.url);
const { HierarchicalNSW } = require('hnswlib-node') as typeof Hnswlib;
/** Checked once per process, before the first native call (see retrieval/native/build-simd.sh). */
let addonCheckedForThisCpu = false;

export const HnswConfigSchema = z.object({
  space: z.enum(['cosine', 'ip']).default('cosine'),
  m: z.number().int().min(2).max(128).default(16),
  /**
   * 100 builds ~1.5× faster and, with ef 80, kept recall on 148k GloVe vectors, but lost it at 1M chunks (recall@10
   * 0.926 against 0.964 for 200 / 64, benchmarks/RESULTS.md): 200 / 64 stay until a sweep at 1M says otherwise.
   */
  efConstruction: z.number().int().min(1).default(200),
  ef: z.number().int().min(1).default(64),
  initialCapacity: z.number().int().min(1).default(1024),
  randomSeed: z.number().int().default(100),
  /** Filters that admit at most this many live keys are answered exactly from the stored vectors. */
  exactFilterLimit: z.number().int().nonnegative().default(2000),
});
export type HnswConfig = z.infer<typeof HnswConfigSchema>;

const SavedHeaderSchema = z.object({
  format: z.literal('switchyard-hnsw'),
  version: z.literal(1),
  dimensions: z.number().int().positive(),
  config: HnswConfigSchema,
  liveKeys: z.array(z.number().int()),
});

export class HnswIndex implements VectorIndex {
  readonly kind = 'hnsw';
  readonly config: HnswConfig;
  private index: HierarchicalNswType;
  private readonly liveKeys = new Set<number>();
  private deletedSlots = 0;
  /** The ef set on the native index, kept here so a search needs no extra native call to read it. */
  private ef: number;
  /**
   * hnswlib-node takes plain number arrays and copies them synchronously, so one reused array serves every query and
   * add: filling it in a loop costs ~1 µs, `Array.from(Float32Array)` ~25 µs (measured at 384 dimensions).
   */
  private readonly scratch: number[];

  constructor(
    readonly dimensions: number,
    config: Partial<z.input<typeof HnswConfigSchema>> = {},
  ) {
    this.config = HnswConfigSchema.parse(config);
    if (!addonCheckedForThisCpu) {
      assertHnswlibBuildRunsHere();
      addonCheckedForThisCpu = true;
    }
    this.index = new HierarchicalNSW(this.config.space, dimensions);
    this.index.initIndex({
      maxElements: this.config.initialCapacity,
      m: this.config.m,
      efConstruction: this.config.efConstruction,
      randomSeed: this.config.randomSeed,
      allowReplaceDeleted: true,
    });
    this.ef = this.config.ef;
    this.index.setEf(this.ef);
    this.scratch = new Array<number>(dimensions).fill(0);
  }

  get size(): number {
    return this.liveKeys.size;
  }

  get space(): VectorSpace {
    return this.config.space;
  }

  has(key: number): boolean {
    return this.liveKeys.has(key);
  }

  setEf(ef: number): void {
    this.index.setEf(ef);
    this.ef = ef;
  }

  private toScratch(vector: Float32Array): number[] {
    const scratch = this.scratch;
    for (let i = 0; i < scratch.length; i += 1) scratch[i] = vector[i] as number;
    return scratch;
  }

  add(items: readonly VectorItem[]): void {
    for (const item of items) {
      assertDimensions(item.vector, this.dimensions);
      const point = this.toScratch(item.vector);
      if (this.liveKeys.has(item.key)) {
        this.index.addPoint(point, item.key); // same label: hnswlib updates the vector in place
        continue;
      }
      if (this.deletedSlots > 0 && this.revive(item.key)) {
        this.index.addPoint(point, item.key);
        this.deletedSlots -= 1;
      } else if (this.deletedSlots > 0) {
        this.index.addPoint(point, item.key, true);
        this.deletedSlots -= 1;
      } else {
        const capacity = this.index.getMaxElements();
        if (this.index.getCurrentCount() >= capacity) this.index.resizeIndex(capacity * 2);
        this.index.addPoint(point, item.key);
      }
      this.liveKeys.add(item.key);
    }
  }

  /**
   * A key that is still in the graph as a deleted label must be revived in place: reusing another deleted slot for
   * it would leave two slots with the same label, and recycling the old one later would drop the live mapping.
   */
  private revive(key: number): boolean {
    try {
      this.index.unmarkDelete(key);
      return true;
    } catch {
      return false; // not in the graph (never added, or its slot was recycled for another key)
    }
  }

  delete(keys: readonly number[]): number {
    let removed = 0;
    for (const key of keys) {
      if (!this.liveKeys.delete(key)) continue;
      this.index.markDelete(key);
      this.deletedSlots += 1;
      removed += 1;
    }
    return removed;
  }

  search(query: Float32Array, k: number, filter?: KeyFilter): SearchHit[] {
    assertDimensions(query, this.dimensions);
    if (this.liveKeys.size === 0 || k <= 0) return [];
    if (filter !== undefined) {
      const admitted = this.admittedKeys(filter);
      if (admitted !== null) return this.exactSearch(query, k, admitted);
    }
    // ef below k would return fewer than k; hnswlib does not raise it by itself.
    const ef = this.ef;
    if (ef < k) this.index.setEf(k);
    try {
      const result = this.index.searchKnn(this.toScratch(query), Math.min(k, this.liveKeys.size), filter);
      return hitsOf(result.neighbors, result.distances);
    } finally {
      if (ef < k) this.index.setEf(ef);
    }
  }

  /** The stored (for cosine: normalised) vector of a key. */
  vector(key: number): Float32Array {
    return Float32Array.from(this.index.getPoint(key));
  }

  /**
   * One file: [u32 header length][JSON header: format, dimensions, config, live keys][hnswlib's own index bytes].
   * hnswlib's file keeps marked-deleted labels without a way to list them, hence the live keys in the header.
   */
  save(path: string): void {
    const scratch = `${path}.hnswlib-${process.pid}`;
    try {
      this.index.writeIndexSync(scratch);
      const header = Buffer.from(
        JSON.stringify({
          format: 'switchyard-hnsw',
          version: 1,
          dimensions: this.dimensions,
          config: this.config,
          liveKeys: [...this.liveKeys],
        }),
      );
      const length = Buffer.alloc(4);
      length.writeUInt32LE(header.length);
      // hnswlib's bytes are copied through an 8 MB buffer, not read whole: at 1M × 384-d they are ~1.7 GB.
      const output = openSync(path, 'w');
      try {
        writeSync(output, length);
        writeSync(output, header);
        const input = openSync(scratch, 'r');
        try {
          const buffer = Buffer.allocUnsafe(8 << 20);
          for (let read = readSync(input, buffer); read > 0; read = readSync(input, buffer))
            writeSync(output, buffer, 0, read);
        } finally {
          closeSync(input);
        }
      } finally {
        closeSync(output);
      }
    } finally {
      rmSync(scratch, { force: true });
    }
  }

  static load(path: string, overrides: Partial<Pick<HnswConfig, 'ef' | 'exactFilterLimit'>> = {}): HnswIndex {
    const staged = stageHnswFile(path, `${path}.hnswlib-${process.pid}`);
    try {
      return HnswIndex.fromStaged(staged, overrides);
    } finally {
      rmSync(staged.scratch, { force: true });
    }
  }

  /** From a file `stageHnswFile` split (the caller removes the scratch file afterwards). */
  static fromStaged(
    staged: StagedHnswFile,
    overrides: Partial<Pick<HnswConfig, 'ef' | 'exactFilterLimit'>> = {},
  ): HnswIndex {
    if (staged.header === null) throw new Error('HNSW file truncated inside its header');
    const header = SavedHeaderSchema.parse(JSON.parse(staged.header.toString('utf8')));
    const loaded = new HnswIndex(header.dimensions, { ...header.config, ...overrides, initialCapacity: 1 });
    loaded.index = new HierarchicalNSW(loaded.config.space, header.dimensions);
    loaded.index.readIndexSync(staged.scratch, true);
    loaded.setEf(loaded.config.ef);
    for (const key of header.liveKeys) loaded.liveKeys.add(key);
    loaded.deletedSlots = loaded.index.getCurrentCount() - loaded.liveKeys.size;
    return loaded;
  }

  /** Live keys the filter admits, or null when there are more than the exact-search limit. */
  private admittedKeys(filter: KeyFilter): number[] | null {
    const admitted: number[] = [];
    for (const key of this.liveKeys) {
      if (!filter(key)) continue;
      admitted.push(key);
      if (admitted.length > this.config.exactFilterLimit) return null;
    }
    return admitted;
  }

  private exactSearch(query: Float32Array, k: number, keys: number[]): SearchHit[] {
    const exact = new BruteForceIndex(this.dimensions, this.config.space);
    exact.add(keys.map((key) => ({ key, vector: this.vector(key) })));
    return exact.search(query, k);
  }
}

/** A file `save` wrote, split for loading: its JSON header, hnswlib's part in a scratch file, and the whole file's size and sha256. */
export interface StagedHnswFile {
  /** null: the file ended inside its header. */
  header: Buffer | null;
  scratch: string;
  bytes: number;
  sha256: string;
}

/**
 * hnswlib reads only from files, and a file `save` wrote starts with our header, so hnswlib's part is copied to
 * `scratch` through an 8 MB buffer while the whole file is hashed: a million-chunk index (~1.7 GB) is never held in
 * memory whole, and the caller checks size and checksum before hnswlib parses a byte (fromStaged).
 */
export function stageHnswFile(path: string, scratch: string, bufferBytes = 8 << 20): StagedHnswFile {
  const hash = createHash('sha256');
  const input = openSync(path, 'r');
  let bytes = 0;
  let header: Buffer | null = null;
  let prefix: Buffer[] = [];
  try {
    const output = openSync(scratch, 'w');
    try {
      const buffer = Buffer.allocUnsafe(bufferBytes);
      for (let read = readSync(input, buffer); read > 0; read = readSync(input, buffer)) {
        const chunk = buffer.subarray(0, read);
        hash.update(chunk);
        bytes += read;
        if (header !== null) {
          writeSync(output, chunk);
          continue;
        }
        // Still inside [u32 length][header]: collect until the header is complete, then copy what follows it.
        prefix.push(Buffer.from(chunk));
        const collected = Buffer.concat(prefix);
        if (collected.length < 4) continue;
        const headerEnd = 4 + collected.readUInt32LE(0);
        if (collected.length < headerEnd) continue;
        header = collected.subarray(4, headerEnd);
        prefix = [];
        if (collected.length > headerEnd) writeSync(output, collected.subarray(headerEnd));
      }
    } finally {
      closeSync(output);
    }
  } finally {
    closeSync(input);
  }
  return { header, scratch, bytes, sha256: hash.digest('hex') };
}

/**
 * hnswlib-node empties a max-heap of (distance, label) pairs from the back, so its neighbours come nearest first and
 * equal distances by ascending label: already the contract's order. The check keeps the contract (and skips the sort)
 * should a future version order them differently.
 */
function hitsOf(neighbors: readonly number[], distances: readonly number[]): SearchHit[] {
  const hits = new Array<SearchHit>(neighbors.length);
  let ordered = true;
  for (let i = 0; i < neighbors.length; i += 1) {
    const hit = { key: neighbors[i] as number, score: 1 - (distances[i] as number) };
    if (i > 0 && compareHits(hits[i - 1] as SearchHit, hit) > 0) ordered = false;
    hits[i] = hit;
  }
  return ordered ? hits : hits.sort(compareHits);
}
