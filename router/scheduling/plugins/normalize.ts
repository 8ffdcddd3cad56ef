// Shared score helpers: every scorer maps its raw signal into [0,1] with 1 = best.

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
