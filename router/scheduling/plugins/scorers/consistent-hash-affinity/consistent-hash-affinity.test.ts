import { describe, expect, it } from 'vitest';
import { makeBackend, makeRequest } from '../../../testing.ts';
import { affinityKey, createConsistentHashAffinityScorer, rendezvousOrder } from './index.ts';

const ids = ['sim/10.0.0.1:8000', 'sim/10.0.0.2:8000', 'sim/10.0.0.3:8000', 'sim/10.0.0.4:8000'];
const blocks = (prefix: string, count = 10): string[] =>
  Array.from({ length: count }, (_, index) => `${prefix}-${index}`);

describe('consistent-hash-affinity', () => {
  it('two independent scorers (two routers) pick the same owner, whatever order they list the candidates in', () => {
    const a = createConsistentHashAffinityScorer({ keyBlocks: 8 });
    const b = createConsistentHashAffinityScorer({ keyBlocks: 8 });
    for (let key = 0; key < 200; key++) {
      const request = makeRequest({ prefixBlockHashes: blocks(`prompt${key}`) });
      const forward = ids.map((id) => makeBackend(id));
      const scoresA = a.score(request, forward);
      const scoresB = b.score(request, [...forward].reverse());
      const ownerA = ids[scoresA.indexOf(1)];
      const ownerB = [...ids].reverse()[scoresB.indexOf(1)];
      expect(ownerA).toBe(ownerB);
      expect([...scoresA].sort((x, y) => y - x)).toEqual([1, 0.5, 0.25, 0.125]);
    }
  });

  it('spreads keys over replicas, and removing one replica moves only the keys it owned', () => {
    const owners = new Map<string, number>();
    let moved = 0;
    for (let key = 0; key < 4_000; key++) {
      const order = rendezvousOrder(`p:${key}`, ids);
      owners.set(order[0]!, (owners.get(order[0]!) ?? 0) + 1);
      const without = rendezvousOrder(
        `p:${key}`,
        ids.filter((id) => id !== ids[2]),
      );
      if (order[0] !== ids[2]) expect(without[0]).toBe(order[0]);
      else moved++;
      // The fallback is the next in rank: the same replica every router would pick.
      if (order[0] === ids[2]) expect(without[0]).toBe(order[1]);
    }
    for (const id of ids) expect(owners.get(id)!).toBeGreaterThan(850);
    expect(moved).toBe(owners.get(ids[2]!));
  });

  it('keys on the session when there is one, else on the first keyBlocks blocks; shorter prompts are neutral', () => {
    expect(affinityKey(makeRequest({ sessionKey: 'conv-1', prefixBlockHashes: blocks('x') }), 8)).toBe('s:conv-1');
    expect(affinityKey(makeRequest({ prefixBlockHashes: blocks('x') }), 8)).toBe('p:x-7');
    // Same system prompt, different questions after it: same key.
    expect(affinityKey(makeRequest({ prefixBlockHashes: [...blocks('sys', 8), 'q1'] }), 8)).toBe(
      affinityKey(makeRequest({ prefixBlockHashes: [...blocks('sys', 8), 'q2', 'q3'] }), 8),
    );
    expect(affinityKey(makeRequest({ prefixBlockHashes: blocks('x', 7) }), 8)).toBeUndefined();
    const scorer = createConsistentHashAffinityScorer({ keyBlocks: 8 });
    expect(
      scorer.score(
        makeRequest({ prefixBlockHashes: blocks('x', 3) }),
        ids.map((id) => makeBackend(id)),
      ),
    ).toEqual([0, 0, 0, 0]);
  });
});
