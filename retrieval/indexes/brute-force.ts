// Exact inner-product search over every vector: the reference the HNSW index is measured against, and the fallback
// for filters so selective that a graph search would wander.
import { readFileSync, writeFileSync } from 'node:fs';
import type { KeyFilter, SearchHit, VectorIndex, VectorItem } from '../contracts.ts';
import { TopK } from '../search/top-k.ts';
import { dot, normalise } from './vector-math.ts';

export type VectorSpace = 'cosine' | 'ip';

export class BruteForceIndex implements VectorIndex {
  readonly kind = 'brute-force';
  private readonly vectors = new Map<number, Float32Array>();

  constructor(
    readonly dimensions: number,
    readonly space: VectorSpace = 'cosine',
  ) {}

  get size(): number {
    return this.vectors.size;
  }

  has(key: number): boolean {
    return this.vectors.has(key);
  }

  add(items: readonly VectorItem[]): void {
    for (const item of items) {
      assertDimensions(item.vector, this.dimensions);
      this.vectors.set(item.key, this.space === 'cosine' ? normalise(item.vector) : Float32Array.from(item.vector));
    }
  }

  delete(keys: readonly number[]): number {
    let removed = 0;
    for (const key of keys) if (this.vectors.delete(key)) removed += 1;
    return removed;
  }

  search(query: Float32Array, k: number, filter?: KeyFilter): SearchHit[] {
    assertDimensions(query, this.dimensions);
    const probe = this.space === 'cosine' ? normalise(query) : query;
    const top = new TopK(k);
    for (const [key, vector] of this.vectors) {
      if (filter !== undefined && !filter(key)) continue;
      top.offer(key, dot(probe, vector));
    }
    return top.result();
  }

  save(path: string): void {
    const keys = [...this.vectors.keys()];
    const header = Buffer.from(JSON.stringify({ dimensions: this.dimensions, space: this.space, keys }));
    const body = new Float32Array(keys.length * this.dimensions);
    keys.forEach((key, row) => body.set(this.vectors.get(key) as Float32Array, row * this.dimensions));
    const length = Buffer.alloc(4);
    length.writeUInt32LE(header.length);
    writeFileSync(path, Buffer.concat([length, header, Buffer.from(body.buffer)]));
  }

  static load(path: string): BruteForceIndex {
    const bytes = readFileSync(path);
    const headerLength = bytes.readUInt32LE(0);
    const header = JSON.parse(bytes.subarray(4, 4 + headerLength).toString('utf8')) as {
      dimensions: number;
      space: VectorSpace;
      keys: number[];
    };
    const body = bytes.subarray(4 + headerLength);
    const floats = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
    const index = new BruteForceIndex(header.dimensions, header.space);
    header.keys.forEach((key, row) => {
      index.vectors.set(key, floats.slice(row * header.dimensions, (row + 1) * header.dimensions));
    });
    return index;
  }
}

export function assertDimensions(vector: Float32Array, dimensions: number): void {
  if (vector.length !== dimensions) {
    throw new RangeError(`Vector has ${vector.length} dimensions; the index expects ${dimensions}.`);
  }
}
