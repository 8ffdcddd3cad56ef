// Conformance suite every RateLimiter implementation runs (memory, Redis), on a virtual clock.
import { expect, it } from 'vitest';
import type { RateLimiter } from './contracts.ts';

export interface LimiterHarness {
  limiter: RateLimiter;
  advance(ms: number): void;
  /** A key id no other test used. */
  key(): string;
}

export function rateLimiterConformance(make: () => LimiterHarness): void {
  it('allows rpm requests per minute, then 429 with a retry time, then refills', async () => {
    const { limiter, advance, key } = make();
    const id = key();
    const limits = { rpm: 3, tpm: null };
    for (let index = 0; index < 3; index++) expect((await limiter.admit(id, limits, 10)).allowed).toBe(true);
    const refused = await limiter.admit(id, limits, 10);
    expect(refused).toMatchObject({ allowed: false, limit: 'requests', perMinute: 3 });
    if (refused.allowed) return;
    expect(refused.retryAfterMs).toBeGreaterThan(19_000);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(20_000);
    advance(refused.retryAfterMs);
    expect((await limiter.admit(id, limits, 10)).allowed).toBe(true);
    expect((await limiter.admit(id, limits, 10)).allowed).toBe(false);
  });

  it('counts prompt tokens at admission and completion tokens when charged', async () => {
    const { limiter, advance, key } = make();
    const id = key();
    const limits = { rpm: null, tpm: 1000 };
    expect((await limiter.admit(id, limits, 600)).allowed).toBe(true);
    await limiter.charge(id, limits, 300);
    const refused = await limiter.admit(id, limits, 200);
    expect(refused).toMatchObject({ allowed: false, limit: 'tokens' });
    if (refused.allowed) return;
    // 100 left, 200 needed: 100 tokens at 1000/min = 6 s.
    expect(refused.retryAfterMs).toBeGreaterThanOrEqual(5_990);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(6_010);
    advance(6_010);
    expect((await limiter.admit(id, limits, 200)).allowed).toBe(true);
  });

  it('is all or nothing: a token refusal takes no request', async () => {
    const { limiter, key } = make();
    const id = key();
    const limits = { rpm: 2, tpm: 100 };
    expect((await limiter.admit(id, limits, 90)).allowed).toBe(true);
    expect((await limiter.admit(id, limits, 50)).allowed).toBe(false);
    expect((await limiter.admit(id, limits, 5)).allowed).toBe(true);
    expect(await limiter.admit(id, limits, 1)).toMatchObject({ allowed: false, limit: 'requests' });
  });

  it('lets a prompt bigger than the bucket through only when full, then is in debt', async () => {
    const { limiter, advance, key } = make();
    const id = key();
    const limits = { rpm: null, tpm: 100 };
    expect((await limiter.admit(id, limits, 250)).allowed).toBe(true);
    const refused = await limiter.admit(id, limits, 1);
    expect(refused.allowed).toBe(false);
    if (refused.allowed) return;
    // Debt of 150 plus 1 needed: 151 tokens at 100/min ≈ 90.6 s.
    expect(refused.retryAfterMs).toBeGreaterThan(90_000);
    advance(refused.retryAfterMs);
    expect((await limiter.admit(id, limits, 1)).allowed).toBe(true);
  });

  it('keeps keys apart and refunds with negative charges', async () => {
    const { limiter, key } = make();
    const [first, second] = [key(), key()];
    const limits = { rpm: 1, tpm: 100 };
    expect((await limiter.admit(first, limits, 100)).allowed).toBe(true);
    expect((await limiter.admit(second, limits, 100)).allowed).toBe(true);
    const tokensOnly = { rpm: null, tpm: 100 };
    expect((await limiter.admit(first, tokensOnly, 50)).allowed).toBe(false);
    await limiter.charge(first, tokensOnly, -60);
    expect((await limiter.admit(first, tokensOnly, 50)).allowed).toBe(true);
  });

  it('never admits more than the limit under 100 concurrent admissions', async () => {
    const { limiter, key } = make();
    const id = key();
    const results = await Promise.all(Array.from({ length: 100 }, () => limiter.admit(id, { rpm: 37, tpm: null }, 1)));
    expect(results.filter((result) => result.allowed)).toHaveLength(37);
  });
}
