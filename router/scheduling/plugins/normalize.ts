// Shared score helpers: every scorer maps its raw signal into [0,1] with 1 = best; and the filters' keepWhere.
import type { BackendState } from '../contracts.ts';

/** Score given to a candidate whose signal is unknown (e.g. a hosted backend without vLLM metrics). */
export const UNKNOWN_SCORE = 0.5;

/**
 * Lower is better: (max − v) / (max − min), so the least-loaded candidate scores 1 and the most loaded 0.
 * All known values equal → every known candidate scores 1 (neutral). Unknown values score UNKNOWN_SCORE.
 */
export function invertedMinMax(values: ReadonlyArray<number | undefined>): number[] {
  let min = Infinity;
  let max = -Infinity;
  for (const value of values) {
    if (value === undefined || !Number.isFinite(value)) continue;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const span = max - min;
  return values.map((value) => {
    if (value === undefined || !Number.isFinite(value)) return UNKNOWN_SCORE;
    return span > 0 ? (max - value) / span : 1;
  });
}

export function clamp01(value: number): number {
  if (!(value > 0)) return 0; // also maps NaN to 0
  return value > 1 ? 1 : value;
}

/** FNV-1a of two strings, for deterministic per-request tie-breaking that still spreads load. */
export function hashPair(first: string, second: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < first.length; index++) hash = Math.imul(hash ^ first.charCodeAt(index), 0x01000193);
  hash = Math.imul(hash ^ 0x1f, 0x01000193);
  for (let index = 0; index < second.length; index++) hash = Math.imul(hash ^ second.charCodeAt(index), 0x01000193);
  return hash >>> 0;
}

/**
 * The candidates for which `passes` holds, in order — `candidates` itself when all of them do, which is the usual
 * case on every request (filters run on every scheduling call; an array per filter per call is garbage).
 */
export function keepWhere<C>(
  candidates: readonly BackendState[],
  passes: (backend: BackendState, context: C) => boolean,
  context: C,
): readonly BackendState[] {
  for (let index = 0; index < candidates.length; index++) {
    if (passes(candidates[index]!, context)) continue;
    const kept = candidates.slice(0, index);
    for (let rest = index + 1; rest < candidates.length; rest++) {
      if (passes(candidates[rest]!, context)) kept.push(candidates[rest]!);
    }
    return kept;
  }
  return candidates;
}
