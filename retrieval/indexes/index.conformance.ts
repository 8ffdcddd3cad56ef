// The conformance suite every SearchIndex implementation runs: ranking order, self-retrieval, delete really deletes,
// update replaces, filters inside the search still fill k, save/load round-trip.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SearchHit, SearchIndex } from '../contracts.ts';

export interface IndexConformanceOptions<TQuery, TItem extends { key: number }> {
  name: string;
  create(): SearchIndex<TQuery, TItem>;
  load(path: string): SearchIndex<TQuery, TItem>;
  /** At least 200 items with distinct keys. */
  items: readonly TItem[];
  /** A query for which `item` is the single best match. */
  queryFor(item: TItem): TQuery;
  /** The same key with different content. */
  changed(item: TItem): TItem;
}

export function runIndexConformance<TQuery, TItem extends { key: number }>(
  options: IndexConformanceOptions<TQuery, TItem>,
): void {
  const { items, queryFor } = options;
  const directory = mkdtempSync(join(tmpdir(), 'switchyard-index-'));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  function build(): SearchIndex<TQuery, TItem> {
    const index = options.create();
    index.add(items);
    return index;
  }

  function expectOrdered(hits: readonly SearchHit[]): void {
    for (let i = 1; i < hits.length; i += 1) {
      const previous = hits[i - 1] as SearchHit;
      const current = hits[i] as SearchHit;
      expect(previous.score > current.score || (previous.score === current.score && previous.key < current.key)).toBe(
        true,
      );
    }
  }

  describe(`SearchIndex conformance: ${options.name}`, () => {
    it('counts items and finds each probed item first, best-first with ties by key', () => {
      const index = build();
      expect(index.size).toBe(items.length);
      for (const item of items.slice(0, 20)) {
        const hits = index.search(queryFor(item), 5);
        expect(hits.length).toBeGreaterThan(0);
        expect(hits.length).toBeLessThanOrEqual(5);
        expect(hits[0]?.key).toBe(item.key);
        expectOrdered(hits);
      }
    });

    it('never returns a deleted key, and size/has follow deletes', () => {
      const index = build();
      const victims = items.slice(0, 10).map((item) => item.key);
      expect(index.delete([...victims, -12345])).toBe(victims.length);
      expect(index.size).toBe(items.length - victims.length);
      for (const item of items.slice(0, 10)) {
        expect(index.has(item.key)).toBe(false);
        const hits = index.search(queryFor(item), 20);
        expect(hits.map((hit) => hit.key)).not.toContain(item.key);
      }
      expect(index.delete(victims)).toBe(0);
    });

    it('re-adding a key replaces its content instead of duplicating it', () => {
      const index = build();
      const original = items[3] as TItem;
      const replacement = options.changed(original);
      index.add([replacement]);
      expect(index.size).toBe(items.length);
      const hits = index.search(queryFor(replacement), 10);
      expect(hits[0]?.key).toBe(original.key);
      expect(hits.filter((hit) => hit.key === original.key)).toHaveLength(1);
    });

    it('applies filters inside the search and still returns k hits when the filter is selective', () => {
      const index = build();
      const admitted = new Set(items.filter((_, i) => i % 17 === 0).map((item) => item.key));
      const hits = index.search(queryFor(items[1] as TItem), 5, (key) => admitted.has(key));
      for (const hit of hits) expect(admitted.has(hit.key)).toBe(true);
      // Every admitted item shares at least something with the probe in the fixtures, so k are reachable.
      expect(hits).toHaveLength(Math.min(5, admitted.size));
    });

    it('round-trips through save and load with identical results', () => {
      const index = build();
      index.delete([(items[0] as TItem).key]);
      const path = join(directory, `${options.name}.idx`);
      index.save(path);
      const loaded = options.load(path);
      expect(loaded.size).toBe(index.size);
      expect(loaded.has((items[0] as TItem).key)).toBe(false);
      for (const item of items.slice(1, 11)) {
        expect(loaded.search(queryFor(item), 5)).toEqual(index.search(queryFor(item), 5));
      }
    });
  });
}
