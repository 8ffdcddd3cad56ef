import { describe, expect, it } from 'vitest';
import { makeBackend, makeRequest } from '../../../testing.ts';
import { PrefixBlockIndex } from '../prefix-affinity/index.ts';
import { createBoundedPrefixAffinityScorer } from './index.ts';
import { estimateUncachedPromptTokens } from '../../../prefill-estimate.ts';

const hashes = Array.from({ length: 100 }, (_, index) => `h${index}`);
const options = {
  stepOverheadTokens: 256,
  decodeTokensPerRunning: 4,
  chunkTokens: 8_192,
  blockTokens: 16,
  maxTtftRatio: 2,
};

describe('bounded-prefix-affinity scorer', () => {
  it('scores the matched share of the prompt while the replica is within the TTFT margin of the fastest', () => {
    const index = new PrefixBlockIndex(1_000);
    index.record(hashes.slice(0, 50), 'half');
    index.record(hashes, 'full');
    // 'half' must still prefill 800 tokens (≈ 4× the fully cached replica's time): inside a margin of 10, outside 2.
    const request = makeRequest({ promptTokens: 1_600, prefixBlockHashes: hashes });
    const candidates = [makeBackend('full'), makeBackend('half'), makeBackend('none')];
    expect(
      createBoundedPrefixAffinityScorer(index, { ...options, maxTtftRatio: 10 }).score(request, candidates),
    ).toEqual([1, 0.5, 0]);
    expect(createBoundedPrefixAffinityScorer(index, options).score(request, candidates)).toEqual([1, 0, 0]);
  });

  it('drops the affinity of a replica predicted more than maxTtftRatio slower than the fastest', () => {
    const index = new PrefixBlockIndex(1_000);
    index.record(hashes, 'warm');
    const scorer = createBoundedPrefixAffinityScorer(index, options);
    const request = makeRequest({ promptTokens: 1_600, prefixBlockHashes: hashes });
    // warm: 1 uncached token + backlog; cold: the whole 1 600-token prompt, idle.
    const near = [
      makeBackend('warm', { pendingPrefillTokens: 2_000 }),
      makeBackend('cold', { pendingPrefillTokens: 0 }),
    ];
    expect(scorer.score(request, near)).toEqual([1, 0]);
    const far = [
      makeBackend('warm', { pendingPrefillTokens: 6_000 }),
      makeBackend('cold', { pendingPrefillTokens: 0 }),
    ];
    expect(scorer.score(request, far)).toEqual([0, 0]);
  });

  it('keeps plain affinity for a backend without engine signals (hosted) and scores 0 for a prompt without blocks', () => {
    const index = new PrefixBlockIndex(1_000);
    index.record(hashes, 'hosted');
    const scorer = createBoundedPrefixAffinityScorer(index, options);
    const hosted = makeBackend('hosted', { kind: 'openai', metrics: undefined });
    expect(scorer.score(makeRequest({ prefixBlockHashes: hashes }), [hosted, makeBackend('idle')])).toEqual([1, 0]);
    expect(scorer.score(makeRequest({ prefixBlockHashes: [] }), [hosted, makeBackend('idle')])).toEqual([0, 0]);
  });

  it('feeds estimateUncachedPromptTokens when prefix-affinity is not in the profile', () => {
    const request = makeRequest({ promptTokens: 1_600, prefixBlockHashes: hashes });
    const scored = { backend: makeBackend('warm'), score: 1, perScorer: { 'bounded-prefix-affinity': 0.5 } };
    expect(estimateUncachedPromptTokens(request, scored, 16)).toBe(1_600 - 50 * 16);
    expect(estimateUncachedPromptTokens(request, { ...scored, perScorer: { 'bounded-prefix-affinity': 0 } }, 16)).toBe(
      1_600,
    );
  });
});
