// Small readings of a settle outcome shared by governance's accounting.
import type { Admission } from './contracts.ts';

export function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

export function isCacheHit(result: Admission['cache']['result']): boolean {
  return result === 'hit' || result === 'semantic-hit';
}

export function isOk(status: number | string): boolean {
  return status === 200 || status === 'ok';
}
