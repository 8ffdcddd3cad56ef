import { describe, expect, it } from 'vitest';
import { PrefixBlockIndex, createPrefixAffinityScorer } from './index.ts';
import { makeBackend, makeRequest } from '../../../testing.ts';

describe('PrefixBlockIndex', () => {
  it('counts the leading blocks each backend served (hashes are chained, so a different first block differs everywhere)', () => {
    const index = new PrefixBlockIndex(100);
    index.record(['a', 'b', 'c'], 'r1');
    index.record(['a', 'x'], 'r2');
    expect(index.matchAll(['a', 'b', 'c', 'd'], ['r1', 'r2', 'r3'])).toEqual([3, 1, 0]);
    expect(index.matchedBlocks(['z', 'y'], 'r1')).toBe(0);
    expect(index.matchedBlocks(['a', 'b'], 'r1')).toBe(2);
  });

  it('stays bounded and evicts the least recently used hashes first', () => {
    const index = new PrefixBlockIndex(100);
    index.record(['hot'], 'r1');
    for (let round = 0; round < 50; round++) {
      index.record(
        Array.from({ length: 10 }, (_, block) => `cold-${round}-${block}`),
        'r2',
      );
      index.record(['hot'], 'r1'); // keeps being used
      expect(index.size).toBeLessThanOrEqual(110);
    }
    expect(index.matchedBlocks(['hot'], 'r1')).toBe(1);
    expect(index.matchedBlocks(['cold-0-0'], 'r2')).toBe(0);
    expect(index.matchedBlocks(['cold-49-0'], 'r2')).toBe(1);
  });

  it('remembers up to four backends per block, most recent first, and can forget one', () => {
    const index = new PrefixBlockIndex(100);
    for (const backend of ['r1', 'r2', 'r3', 'r4', 'r5']) index.record(['p'], backend);
    expect(index.matchAll(['p'], ['r1', 'r2', 'r5'])).toEqual([0, 1, 1]);
    index.forgetBackend('r5');
    expect(index.matchedBlocks(['p'], 'r5')).toBe(0);
  });
});

describe('prefix-affinity scorer', () => {
  it('scores the share of the prompt whose prefix a backend served', () => {
    const scorer = createPrefixAffinityScorer(1_000);
    scorer.recordServed(makeRequest({ prefixBlockHashes: ['s1', 's2', 's3', 'u1'] }), 'warm');
    const scores = scorer.score(makeRequest({ prefixBlockHashes: ['s1', 's2', 's3', 'u9'] }), [
      makeBackend('cold'),
      makeBackend('warm'),
    ]);
    expect(scores).toEqual([0, 0.75]);
  });
});
