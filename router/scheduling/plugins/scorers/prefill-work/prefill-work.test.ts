import { describe, expect, it } from 'vitest';
import { createScheduler } from '../../../scheduler.ts';
import { makeBackend, makeRequest } from '../../../testing.ts';
import { PrefixBlockIndex } from '../prefix-affinity/index.ts';
import { prefillWorkTokens } from './index.ts';

const hashes = Array.from({ length: 100 }, (_, index) => `h${index}`);

describe('prefill-work scorer', () => {
  it('counts backlog plus the uncached part of the prompt, in tokens', () => {
    const index = new PrefixBlockIndex(1_000);
    index.record(hashes.slice(0, 90), 'warm');
    const request = makeRequest({ promptTokens: 1_600, prefixBlockHashes: hashes });
    const work = prefillWorkTokens(
      request,
      [makeBackend('warm', { pendingPrefillTokens: 500 }), makeBackend('cold', { pendingPrefillTokens: 0 })],
      index,
      16,
    );
    expect(work).toEqual([500 + 1_600 - 90 * 16, 1_600]);
  });

  it('follows a long cached prefix until the backlog there costs more than the prefix saves', () => {
    const scheduler = createScheduler({ scorers: [{ type: 'prefill-work', weight: 1 }] });
    const first = makeRequest({ requestId: 'a', promptTokens: 1_600, prefixBlockHashes: hashes });
    scheduler.recordServed(first, 'warm');
    const next = makeRequest({ requestId: 'b', promptTokens: 1_600, prefixBlockHashes: hashes });
    const light = [
      makeBackend('warm', { pendingPrefillTokens: 1_000 }),
      makeBackend('cold', { pendingPrefillTokens: 0 }),
    ];
    expect(scheduler.schedule(next, light).picked?.backend.id).toBe('warm'); // 1000 + 0 < 0 + 1600
    const heavy = [
      makeBackend('warm', { pendingPrefillTokens: 3_000 }),
      makeBackend('cold', { pendingPrefillTokens: 0 }),
    ];
    expect(scheduler.schedule(next, heavy).picked?.backend.id).toBe('cold'); // 3000 + 0 > 0 + 1600
  });

  it('shares one prefix index with prefix-affinity, learning each served request once', () => {
    const scheduler = createScheduler({
      scorers: [
        { type: 'prefix-affinity', weight: 1 },
        { type: 'prefill-work', weight: 1 },
      ],
    });
    const request = makeRequest({ promptTokens: 1_600, prefixBlockHashes: hashes });
    scheduler.recordServed(request, 'warm');
    const result = scheduler.schedule(makeRequest({ requestId: 'x', promptTokens: 1_600, prefixBlockHashes: hashes }), [
      makeBackend('cold'),
      makeBackend('warm'),
    ]);
    expect(result.picked?.backend.id).toBe('warm');
    expect(result.picked?.perScorer).toEqual({ 'prefix-affinity': 1, 'prefill-work': 1 });
  });
});
