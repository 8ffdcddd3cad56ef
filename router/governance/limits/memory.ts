// In-memory token buckets for one router process. Single-threaded JS makes each admit atomic.
import type { LimitDecision, RateLimiter, RateLimits } from './contracts.ts';

interface Bucket {
  level: number;
  at: number;
}

const MINUTE_MS = 60_000;

export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly clock: () => number;

  constructor(options: { clock?: () => number } = {}) {
    this.clock = options.clock ?? Date.now;
  }

  private level(id: string, capacity: number, now: number): Bucket {
    let bucket = this.buckets.get(id);
    if (!bucket) {
      bucket = { level: capacity, at: now };
      this.buckets.set(id, bucket);
      if (this.buckets.size > 100_000) this.evictFull(now);
      return bucket;
    }
    const elapsed = Math.max(0, now - bucket.at);
    bucket.level = Math.min(capacity, bucket.level + (elapsed * capacity) / MINUTE_MS);
    bucket.at = now;
    return bucket;
  }

  /** Buckets idle for a minute are full again: forgetting them changes nothing. */
  private evictFull(now: number): void {
    for (const [id, bucket] of this.buckets) if (now - bucket.at > MINUTE_MS) this.buckets.delete(id);
  }

  admit(keyId: string, limits: RateLimits, promptTokens: number): LimitDecision {
    const now = this.clock();
    const requests = limits.rpm ? this.level(`${keyId}:r`, limits.rpm, now) : undefined;
    if (requests && limits.rpm && requests.level < 1) {
      return {
        allowed: false,
        limit: 'requests',
        perMinute: limits.rpm,
        retryAfterMs: refillMs(1 - requests.level, limits.rpm),
      };
    }
    const tokens = limits.tpm ? this.level(`${keyId}:t`, limits.tpm, now) : undefined;
    if (tokens && limits.tpm) {
      const need = Math.min(promptTokens, limits.tpm);
      if (tokens.level < need) {
        return {
          allowed: false,
          limit: 'tokens',
          perMinute: limits.tpm,
          retryAfterMs: refillMs(need - tokens.level, limits.tpm),
        };
      }
    }
    if (requests) requests.level -= 1;
    if (tokens) tokens.level -= promptTokens;
    return { allowed: true };
  }

  charge(keyId: string, limits: RateLimits, tokens: number): void {
    if (!limits.tpm || tokens === 0) return;
    const bucket = this.level(`${keyId}:t`, limits.tpm, this.clock());
    bucket.level = Math.min(limits.tpm, bucket.level - tokens);
  }

  async close(): Promise<void> {
    this.buckets.clear();
  }
}

export function refillMs(deficit: number, perMinute: number): number {
  return Math.max(1, Math.ceil((deficit * MINUTE_MS) / perMinute));
}
