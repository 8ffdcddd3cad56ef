// Weighted Reciprocal Rank Fusion (Cormack et al. 2009, with per-list weights): for each result list i with weight
// w_i, a document at 1-based rank r gets w_i / (k + r); the fused score is the sum over lists. It uses ranks only,
// so BM25 scores and cosine similarities never need to be put on one scale. Ties break by the best single rank, then
// by ascending key, so the order is deterministic.
import type { SearchHit } from '../contracts.ts';

export interface RankedList {
  name: string;
  weight: number;
  hits: readonly SearchHit[];
}

export interface FusedHit {
  key: number;
  score: number;
  /** 1-based rank in each list that contained the key. */
  ranks: Record<string, number>;
}

export function reciprocalRankFusion(lists: readonly RankedList[], k = 60): FusedHit[] {
  const fused = new Map<number, FusedHit & { bestRank: number }>();
  for (const list of lists) {
    list.hits.forEach((hit, index) => {
      const rank = index + 1;
      let entry = fused.get(hit.key);
      if (entry === undefined) {
        entry = { key: hit.key, score: 0, ranks: {}, bestRank: Number.POSITIVE_INFINITY };
        fused.set(hit.key, entry);
      }
      entry.score += list.weight / (k + rank);
      entry.ranks[list.name] = rank;
      entry.bestRank = Math.min(entry.bestRank, rank);
    });
  }
  return [...fused.values()]
    .sort((a, b) => b.score - a.score || a.bestRank - b.bestRank || a.key - b.key)
    .map(({ key, score, ranks }) => ({ key, score, ranks }));
}
