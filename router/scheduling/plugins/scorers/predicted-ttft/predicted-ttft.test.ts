import { describe, expect, it } from 'vitest';
import { createScheduler } from '../../../scheduler.ts';
import { makeBackend, makeMetrics, makeRequest } from '../../../testing.ts';
import { PrefixBlockIndex } from '../prefix-affinity/index.ts';
import { createPredictedTtftScorer, predictedTtftTokens, ratioToBest } from './index.ts';

const hashes = Array.from({ length: 100 }, (_, index) => `h${index}`);
const options = { stepOverheadTokens: 256, decodeTokensPerRunning: 4, chunkTokens: 8_192, blockTokens: 16 };

describe('predicted-ttft scorer', () => {
  it('adds backlog, the uncached prompt and one step overhead per prefill chunk, in tokens', () => {
    const index = new PrefixBlockIndex(1_000);
    index.record(hashes.slice(0, 90), 'warm');
    const request = makeRequest({ promptTokens: 1_600, prefixBlockHashes: hashes });
    const predicted = predictedTtftTokens(
      request,
      [
        makeBackend('warm', { pendingPrefillTokens: 500, metrics: makeMetrics({ requestsRunning: 10 }) }),
        makeBackend('cold', { pendingPrefillTokens: 9_000, metrics: makeMetrics({ requestsRunning: 0 }) }),
        makeBackend('hosted', { kind: 'openai', metrics: undefined }),
      ],
      index,
      options,
    );
    const warmPrefill = 500 + 1_600 - 90 * 16;
    expect(predicted[0]).toBe(warmPrefill + 1 * (256 + 4 * 10));
    expect(predicted[1]).toBe(9_000 + 1_600 + 2 * 256); // two 8 192-token chunks
    expect(predicted[2]).toBeUndefined();
  });

  it('without the router-side backlog, counts each scraped waiting request as a prompt like this one', () => {
    const index = new PrefixBlockIndex(1_000);
    const request = makeRequest({ promptTokens: 1_000 });
    const [predicted] = predictedTtftTokens(
      request,
      [makeBackend('a', { metrics: makeMetrics({ requestsWaiting: 3 }) })],
      index,
      options,
    );
    expect(predicted).toBe(3 * 1_000 + 1_000 + 256);
  });

  it('scores as a ratio to the fastest, so the size of the gap matters (min-max would give 0 to both slower ones)', () => {
    expect(ratioToBest([1_000, 1_100, 4_000, undefined])).toEqual([1, 1_000 / 1_100, 0.25, 0.5]);
    const scorer = createPredictedTtftScorer(new PrefixBlockIndex(100), options);
    const scores = scorer.score(makeRequest({ promptTokens: 744 }), [
      makeBackend('idle', { pendingPrefillTokens: 0 }),
      makeBackend('slightly-busy', { pendingPrefillTokens: 100 }),
      makeBackend('prefilling', { pendingPrefillTokens: 6_000 }),
    ]);
    expect(scores[0]).toBe(1);
    expect(scores[1]).toBeGreaterThan(0.9);
    expect(scores[2]).toBeLessThan(0.2);
  });

  it('follows a cached prefix until the backlog there costs more than the prefill it saves', () => {
    const scheduler = createScheduler({ scorers: [{ type: 'predicted-ttft', weight: 1 }] });
    const request = makeRequest({ requestId: 'b', promptTokens: 1_600, prefixBlockHashes: hashes });
    scheduler.recordServed(makeRequest({ requestId: 'a', promptTokens: 1_600, prefixBlockHashes: hashes }), 'warm');
    const light = [
      makeBackend('warm', { pendingPrefillTokens: 1_000 }),
      makeBackend('cold', { pendingPrefillTokens: 0 }),
    ];
    expect(scheduler.schedule(request, light).picked?.backend.id).toBe('warm'); // 1000 + 0 < 0 + 1600
    const heavy = [
      makeBackend('warm', { pendingPrefillTokens: 3_000 }),
      makeBackend('cold', { pendingPrefillTokens: 0 }),
    ];
    expect(scheduler.schedule(request, heavy).picked?.backend.id).toBe('cold'); // 3000 + 0 > 0 + 1600
  });
});
