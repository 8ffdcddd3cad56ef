// Canonical JSON (object keys sorted, undefined dropped) and its sha256: the one way the evals hash things —
// suite versions, cache keys, judge prompt versions — so equal content always gives equal hashes.
import { createHash } from 'node:crypto';

export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : sortKeys(item)));
  if (value !== null && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const item = (value as Record<string, unknown>)[key];
      if (item !== undefined) sorted[key] = sortKeys(item);
    }
    return sorted;
  }
  return value;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Short content hash used as a human-visible version (`sha256:` + 12 hex digits). */
export function contentHash(value: unknown): string {
  return `sha256:${sha256(canonicalJson(value)).slice(0, 12)}`;
}
