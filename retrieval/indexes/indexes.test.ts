import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TextItem, VectorItem } from '../contracts.ts';
import { randomUnitVectors } from '../testing/random.ts';
import { Bm25Index } from './bm25.ts';
import { BruteForceIndex } from './brute-force.ts';
import { HnswIndex, stageHnswFile } from './hnsw.ts';
import { runIndexConformance } from './index.conformance.ts';

const DIMENSIONS = 24;
const vectors = randomUnitVectors(400, DIMENSIONS, 7);
const vectorItems: VectorItem[] = vectors.map((vector, i) => ({ key: 1000 + i * 3, vector }));
const flipped = (item: VectorItem): VectorItem => ({ key: item.key, vector: item.vector.map((value) => -value) });

runIndexConformance<Float32Array, VectorItem>({
  name: 'brute-force',
  create: () => new BruteForceIndex(DIMENSIONS),
  load: (path) => BruteForceIndex.load(path),
  items: vectorItems,
  queryFor: (item) => item.vector,
  changed: flipped,
});

runIndexConformance<Float32Array, VectorItem>({
  name: 'hnsw',
  create: () => new HnswIndex(DIMENSIONS, { initialCapacity: 64, efConstruction: 100, ef: 50 }),
  load: (path) => HnswIndex.load(path),
  items: vectorItems,
  queryFor: (item) => item.vector,
  changed: flipped,
});

// Each text has a unique word `uniqN` plus shared filler, so every document matches the shared word `common`.
const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
const textItems: TextItem[] = Array.from({ length: 300 }, (_, i) => ({
  key: i + 1,
  text: `common ${words[i % words.length]} ${words[(i * 7) % words.length]} uniq${i} marker`,
}));

runIndexConformance<string, TextItem>({
  name: 'bm25',
  create: () => new Bm25Index(),
  load: (path) => Bm25Index.load(path),
  items: textItems,
  queryFor: (item) => `${item.text.split(' ')[3]} common`,
  changed: (item) => ({ key: item.key, text: `common replaced${item.key} text` }),
});

describe('HNSW recall against exact search', () => {
  it('reaches recall@10 >= 0.95 on 3000 random vectors', () => {
    const data = randomUnitVectors(3000, 32, 11);
    const queries = randomUnitVectors(100, 32, 12);
    const hnsw = new HnswIndex(32, { m: 16, efConstruction: 100, ef: 80, initialCapacity: 256 });
    const exact = new BruteForceIndex(32);
    const items = data.map((vector, key) => ({ key, vector }));
    hnsw.add(items);
    exact.add(items);
    let found = 0;
    for (const query of queries) {
      const truth = new Set(exact.search(query, 10).map((hit) => hit.key));
      found += hnsw.search(query, 10).filter((hit) => truth.has(hit.key)).length;
    }
    expect(found / (queries.length * 10)).toBeGreaterThanOrEqual(0.95);
  });

  it('grows past its initial capacity and reuses deleted slots', () => {
    const hnsw = new HnswIndex(8, { initialCapacity: 4 });
    const items = randomUnitVectors(20, 8, 3).map((vector, key) => ({ key, vector }));
    hnsw.add(items);
    expect(hnsw.size).toBe(20);
    hnsw.delete([0, 1, 2]);
    hnsw.add(randomUnitVectors(3, 8, 4).map((vector, i) => ({ key: 100 + i, vector })));
    expect(hnsw.size).toBe(20);
    expect(hnsw.search(items[5]?.vector as Float32Array, 1)[0]?.key).toBe(5);
  });

  it('re-adds a deleted key after its neighbours recycled deleted slots', () => {
    const items = randomUnitVectors(30, 8, 9).map((vector, key) => ({ key, vector }));
    const hnsw = new HnswIndex(8, { initialCapacity: 64 });
    hnsw.add(items);
    hnsw.delete([1, 2, 3]);
    hnsw.add(randomUnitVectors(2, 8, 10).map((vector, i) => ({ key: 100 + i, vector }))); // recycles two slots
    hnsw.add([items[2] as (typeof items)[number], items[3] as (typeof items)[number]]);
    hnsw.delete([2]);
    hnsw.add([items[2] as (typeof items)[number]]);
    expect(hnsw.size).toBe(31);
    for (const key of [2, 3, 100, 101]) {
      const probe = key >= 100 ? hnsw.vector(key) : (items[key]?.vector as Float32Array);
      expect(hnsw.search(probe, 1)[0]?.key).toBe(key);
    }
    expect(hnsw.has(1)).toBe(false);
  });

  it('orders equal scores by ascending key, and raises ef to k for one search only', () => {
    const [shared, ...others] = randomUnitVectors(40, 8, 21) as [Float32Array, ...Float32Array[]];
    const hnsw = new HnswIndex(8, { ef: 4 });
    hnsw.add([30, 10, 20].map((key) => ({ key, vector: shared })));
    hnsw.add(others.map((vector, i) => ({ key: 100 + i, vector })));
    expect(hnsw.search(shared, 3).map((hit) => hit.key)).toEqual([10, 20, 30]);
    expect(hnsw.search(shared, 25)).toHaveLength(25);
    expect(hnsw.search(shared, 10)).toHaveLength(10);
  });

  it('answers a very selective filter exactly', () => {
    const data = randomUnitVectors(500, 16, 5).map((vector, key) => ({ key, vector }));
    const hnsw = new HnswIndex(16, { exactFilterLimit: 50 });
    const exact = new BruteForceIndex(16);
    hnsw.add(data);
    exact.add(data);
    const admitted = (key: number): boolean => key % 50 === 0;
    const query = data[7]?.vector as Float32Array;
    expect(hnsw.search(query, 5, admitted)).toEqual(exact.search(query, 5, admitted).map((hit) => hit));
  });
});

describe('HNSW file staging (streamed load)', () => {
  it('splits header and hnswlib bytes across read-buffer boundaries, with the size and sha256 of the whole file', () => {
    const directory = mkdtempSync(join(tmpdir(), 'switchyard-hnsw-stage-'));
    try {
      const index = new HnswIndex(DIMENSIONS, { initialCapacity: 64 });
      index.add(vectorItems);
      index.delete([vectorItems[0]?.key as number]);
      const path = join(directory, 'hnsw.bin');
      index.save(path);
      const file = readFileSync(path);
      // A 7-byte buffer puts the length word, the header and hnswlib's part across many reads.
      const staged = stageHnswFile(path, join(directory, 'scratch'), 7);
      expect(staged.bytes).toBe(file.length);
      expect(staged.sha256).toBe(createHash('sha256').update(file).digest('hex'));
      const headerLength = file.readUInt32LE(0);
      expect(staged.header?.equals(file.subarray(4, 4 + headerLength))).toBe(true);
      expect(readFileSync(staged.scratch).equals(file.subarray(4 + headerLength))).toBe(true);
      const loaded = HnswIndex.fromStaged(staged);
      expect(loaded.size).toBe(index.size);
      for (const item of vectorItems.slice(1, 40)) {
        expect(loaded.search(item.vector, 5)).toEqual(index.search(item.vector, 5));
      }

      const truncated = join(directory, 'truncated.bin');
      writeFileSync(truncated, file.subarray(0, 4 + Math.floor(headerLength / 2)));
      const cut = stageHnswFile(truncated, join(directory, 'scratch-truncated'));
      expect(cut.header).toBeNull();
      expect(() => HnswIndex.fromStaged(cut)).toThrow(/truncated inside its header/);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
