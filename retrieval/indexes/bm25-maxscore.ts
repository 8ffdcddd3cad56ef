// Document-at-a-time BM25 with MaxScore pruning (Turtle & Flood 1995): query terms sorted by their score upper bound;
// the terms whose bounds together cannot lift a document above the current k-th score are "non-essential" — only
// documents in an essential term's postings are candidates, and non-essential terms are looked up (binary search
// in their slot-ordered postings) only while the candidate can still make the top k. Exact: returns what exhaustive
// term-at-a-time scoring returns (a bound equal to the threshold is never pruned, so ties keep their order).
import type { KeyFilter, SearchHit } from '../contracts.ts';
import { TopK } from '../search/top-k.ts';

export interface ScoringTerm {
  /** Slot indexes, ascending. */
  slots: ArrayLike<number>;
  tfs: ArrayLike<number>;
  /** idf · query weight. */
  weight: number;
  /** Upper bound of weight · tf / (tf + norm(d)) over the postings. */
  upperBound: number;
}

export interface ScoringSlots {
  keys: ArrayLike<number>;
  lengths: ArrayLike<number>;
  live: ArrayLike<number>;
  /** norm(d) = base + perToken · |d| */
  base: number;
  perToken: number;
}

function seek(slots: ArrayLike<number>, from: number, target: number): number {
  // Galloping then binary search: cheap when the target is near, logarithmic when far.
  let step = 1;
  let low = from;
  let high = from;
  while (high < slots.length && (slots[high] as number) < target) {
    low = high + 1;
    high += step;
    step *= 2;
  }
  high = Math.min(high, slots.length);
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((slots[middle] as number) < target) low = middle + 1;
    else high = middle;
  }
  return low;
}

export function maxScoreSearch(
  terms: readonly ScoringTerm[],
  slotData: ScoringSlots,
  k: number,
  filter?: KeyFilter,
): SearchHit[] {
  const ordered = [...terms].sort((a, b) => a.upperBound - b.upperBound);
  const count = ordered.length;
  const prefix = new Float64Array(count);
  let running = 0;
  ordered.forEach((term, i) => {
    running += term.upperBound;
    prefix[i] = running;
  });
  const cursors = new Int32Array(count);
  const { keys, lengths, live, base, perToken } = slotData;
  const top = new TopK(k);
  let firstEssential = 0;
  for (;;) {
    let candidate = Number.POSITIVE_INFINITY;
    for (let i = firstEssential; i < count; i += 1) {
      const term = ordered[i] as ScoringTerm;
      const at = cursors[i] as number;
      if (at < term.slots.length && (term.slots[at] as number) < candidate) candidate = term.slots[at] as number;
    }
    if (candidate === Number.POSITIVE_INFINITY) break;
    const norm = base + perToken * (lengths[candidate] as number);
    const admitted = live[candidate] === 1 && (filter === undefined || filter(keys[candidate] as number));
    let score = 0;
    for (let i = firstEssential; i < count; i += 1) {
      const term = ordered[i] as ScoringTerm;
      const at = cursors[i] as number;
      if (at < term.slots.length && term.slots[at] === candidate) {
        const tf = term.tfs[at] as number;
        score += (term.weight * tf) / (tf + norm);
        cursors[i] = at + 1;
      }
    }
    if (!admitted) continue;
    const threshold = top.threshold;
    for (let i = firstEssential - 1; i >= 0; i -= 1) {
      if (score + (prefix[i] as number) < threshold) break;
      const term = ordered[i] as ScoringTerm;
      const at = seek(term.slots, cursors[i] as number, candidate);
      cursors[i] = at;
      if (at < term.slots.length && term.slots[at] === candidate) {
        const tf = term.tfs[at] as number;
        score += (term.weight * tf) / (tf + norm);
      }
    }
    if (score < threshold) continue;
    top.offer(keys[candidate] as number, score);
    const raised = top.threshold;
    while (firstEssential < count && (prefix[firstEssential] as number) < raised) firstEssential += 1;
  }
  return top.result();
}
