// Types-only contract of a per-key rate limiter: two token buckets per key (requests and tokens per minute).
// Implementations: in-memory (one router) and Redis with Lua scripts (several routers share the buckets).
// Both pass limits/conformance.ts.

export interface RateLimits {
  /** Requests per minute; null = unlimited. */
  rpm: number | null;
  /** Tokens per minute (prompt tokens at admission, completion tokens when settled); null = unlimited. */
  tpm: number | null;
}

export type LimitDecision =
  { allowed: true } | { allowed: false; limit: 'requests' | 'tokens'; perMinute: number; retryAfterMs: number };

/**
 * Admission and charging may answer synchronously (the in-memory limiter) or with a promise (Redis): callers on the
 * request path await only real promises, since every await is a microtask hop.
 */
export interface RateLimiter {
  /**
   * All or nothing: takes one request and `promptTokens` tokens when both buckets allow, else takes nothing and says
   * which bucket refused and when it will have refilled enough. A bucket holds at most one minute's worth, refills
   * continuously, and a request larger than the whole bucket is let through only when the bucket is full (it then
   * goes into debt, which delays the next ones).
   */
  admit(keyId: string, limits: RateLimits, promptTokens: number): LimitDecision | Promise<LimitDecision>;
  /** Takes (or, negative, gives back) tokens after the fact: completion tokens once known. May go into debt. */
  charge(keyId: string, limits: RateLimits, tokens: number): void | Promise<void>;
  close(): Promise<void>;
}
