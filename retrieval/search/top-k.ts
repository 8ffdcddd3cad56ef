// Bounded top-k selection with a binary min-heap: O(n log k) over candidates, deterministic tie-breaking
// (higher score first, then lower key first).
import type { SearchHit } from '../contracts.ts';

/** True when `a` ranks below `b` (worse score, or equal score and larger key). */
function ranksBelow(a: SearchHit, b: SearchHit): boolean {
  return a.score < b.score || (a.score === b.score && a.key > b.key);
}

export class TopK {
  private readonly heap: SearchHit[] = [];
  constructor(private readonly k: number) {}

  offer(key: number, score: number): void {
    if (this.k <= 0) return;
    const heap = this.heap;
    if (heap.length < this.k) {
      heap.push({ key, score });
      this.siftUp(heap.length - 1);
      return;
    }
    const worst = heap[0] as SearchHit;
    const candidate = { key, score };
    if (!ranksBelow(worst, candidate)) return;
    heap[0] = candidate;
    this.siftDown(0);
  }

  /** The score a candidate must reach to enter (−∞ until k hits are held). */
  get threshold(): number {
    return this.heap.length < this.k ? Number.NEGATIVE_INFINITY : (this.heap[0] as SearchHit).score;
  }

  /** Best first. */
  result(): SearchHit[] {
    return [...this.heap].sort(compareHits);
  }

  private siftUp(index: number): void {
    const heap = this.heap;
    let child = index;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!ranksBelow(heap[child] as SearchHit, heap[parent] as SearchHit)) break;
      [heap[child], heap[parent]] = [heap[parent] as SearchHit, heap[child] as SearchHit];
      child = parent;
    }
  }

  private siftDown(index: number): void {
    const heap = this.heap;
    let parent = index;
    for (;;) {
      const left = parent * 2 + 1;
      const right = left + 1;
      let smallest = parent;
      if (left < heap.length && ranksBelow(heap[left] as SearchHit, heap[smallest] as SearchHit)) smallest = left;
      if (right < heap.length && ranksBelow(heap[right] as SearchHit, heap[smallest] as SearchHit)) smallest = right;
      if (smallest === parent) return;
      [heap[parent], heap[smallest]] = [heap[smallest] as SearchHit, heap[parent] as SearchHit];
      parent = smallest;
    }
  }
}

/** Sort order for hits: score descending, key ascending. */
export function compareHits(a: SearchHit, b: SearchHit): number {
  return b.score - a.score || a.key - b.key;
}
