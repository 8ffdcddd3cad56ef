// One conformance suite per plugin contract; every plugin in the registry runs it, so a new plugin is covered by
// adding it to the registry.
import { describe, expect, it } from 'vitest';
import type { BackendState, ScoredBackend } from '../contracts.ts';
import { FilterConfig, PickerConfig, ScorerConfig } from '../config.ts';
import { FILTERS, PICKERS, SCORERS, createFilter, createPicker, createScorer } from './registry.ts';
import type { PluginContext } from './plugin-context.ts';
import { PrefixBlockIndex } from './scorers/prefix-affinity/index.ts';
import { makeBackend, makeRequest, randomBackends, seededRandom } from '../testing.ts';

const context = (): PluginContext => {
  const index = new PrefixBlockIndex(1_000);
  return {
    clock: () => 1_000,
    random: seededRandom(7),
    prefixLruSize: 1_000,
    prefixBlockTokens: 16,
    prefixIndex: () => index,
  };
};
const populations = (): BackendState[][] => {
  const random = seededRandom(42);
  return [
    [],
    [makeBackend('solo')],
    ...Array.from({ length: 30 }, (_, index) => randomBackends(random, 1 + (index % 9))),
  ];
};

describe.each(Object.keys(SCORERS))('scorer conformance: %s', (type) => {
  const make = () => createScorer(ScorerConfig.parse(type), context());

  it('returns one finite score in [0,1] per candidate, in order', () => {
    const scorer = make();
    for (const candidates of populations()) {
      const scores = scorer.score(
        makeRequest({ prefixBlockHashes: ['a', 'b'], sessionKey: 's', adapter: 'x' }),
        candidates,
      );
      expect(scores).toHaveLength(candidates.length);
      for (const score of scores) {
        expect(Number.isFinite(score)).toBe(true);
        expect(score).toBeGreaterThanOrEqual(0);
        expect(score).toBeLessThanOrEqual(1);
      }
    }
  });

  it('is neutral when every candidate is identical', () => {
    const scorer = make();
    const candidates = ['x', 'y', 'z'].map((id) =>
      makeBackend(id, { inFlightRequests: 3, inFlightTokens: 900, relativeCost: 2 }),
    );
    const scores = scorer.score(makeRequest({ prefixBlockHashes: ['h1'] }), candidates);
    expect(new Set(scores).size).toBe(1);
  });

  it('is deterministic and does not mutate its input', () => {
    const scorer = make();
    for (const candidates of populations()) {
      const before = JSON.stringify(candidates);
      const request = makeRequest({ prefixBlockHashes: ['a'], sessionKey: 's', adapter: 'x' });
      expect(scorer.score(request, candidates)).toEqual(scorer.score(request, candidates));
      expect(JSON.stringify(candidates)).toBe(before);
    }
  });

  it('has a README next to it', async () => {
    const { existsSync } = await import('node:fs');
    expect(existsSync(new URL(`./scorers/${type}/README.md`, import.meta.url))).toBe(true);
  });
});

describe.each(Object.keys(FILTERS))('filter conformance: %s', (type) => {
  const make = () => createFilter(FilterConfig.parse(type), context());

  it('returns a subset of its input, in input order, without inventing backends', () => {
    const filter = make();
    for (const candidates of populations()) {
      const kept = filter.filter(makeRequest(), candidates);
      let cursor = 0;
      for (const backend of kept) {
        const at = candidates.indexOf(backend, cursor);
        expect(at).toBeGreaterThanOrEqual(cursor);
        cursor = at + 1;
      }
    }
  });

  it('is deterministic and idempotent', () => {
    const filter = make();
    for (const candidates of populations()) {
      const once = filter.filter(makeRequest(), candidates);
      expect(filter.filter(makeRequest(), candidates)).toEqual(once);
      expect(filter.filter(makeRequest(), once)).toEqual(once);
    }
  });

  it('keeps a healthy, idle, fresh, closed backend that serves the model', () => {
    const backend = makeBackend('fine');
    expect(make().filter(makeRequest(), [backend])).toEqual([backend]);
  });

  it('never changes its input, and hands it back as it is when it drops nothing', () => {
    const filter = make();
    for (const candidates of populations()) {
      const before = [...candidates];
      const kept = filter.filter(makeRequest(), candidates);
      expect(candidates).toEqual(before);
      if (kept.length === candidates.length) expect(kept).toBe(candidates);
      else expect(kept).not.toBe(candidates);
    }
  });

  it('has a README next to it', async () => {
    const { existsSync } = await import('node:fs');
    expect(existsSync(new URL(`./filters/${type}/README.md`, import.meta.url))).toBe(true);
  });
});

describe.each(Object.keys(PICKERS))('picker conformance: %s', (type) => {
  const make = () => createPicker(PickerConfig.parse(type), context());
  const scoredOf = (candidates: BackendState[], random: () => number): ScoredBackend[] =>
    candidates.map((backend) => ({ backend, score: random(), perScorer: {} })).sort((a, b) => b.score - a.score);

  it('picks nothing from nothing and one of the candidates otherwise', () => {
    const picker = make();
    expect(picker.pick(makeRequest(), [])).toBeUndefined();
    const random = seededRandom(3);
    for (const candidates of populations()) {
      const scored = scoredOf(candidates, random);
      const picked = picker.pick(makeRequest(), scored);
      if (scored.length === 0) expect(picked).toBeUndefined();
      else expect(scored).toContain(picked);
    }
  });

  it('orders every candidate exactly once (the list the router walks)', () => {
    const picker = make();
    expect(picker.order(makeRequest(), [])).toEqual([]);
    const random = seededRandom(4);
    for (const candidates of populations()) {
      const scored = scoredOf(candidates, random);
      const ordered = picker.order(makeRequest(), scored);
      expect(ordered).toHaveLength(scored.length);
      expect(new Set(ordered)).toEqual(new Set(scored));
    }
  });

  it('is deterministic for the same request, inputs and random source', () => {
    const random = seededRandom(5);
    for (const candidates of populations()) {
      const scored = scoredOf(candidates, random);
      const first = createPicker(PickerConfig.parse(type), context());
      const second = createPicker(PickerConfig.parse(type), context());
      expect(first.pick(makeRequest(), scored)?.backend.id).toBe(second.pick(makeRequest(), scored)?.backend.id);
      const ids = (picker: typeof first) => picker.order(makeRequest(), scored).map((entry) => entry.backend.id);
      expect(ids(first)).toEqual(ids(second));
    }
  });

  it('has a README next to it', async () => {
    const { existsSync } = await import('node:fs');
    expect(existsSync(new URL(`./pickers/${type}/README.md`, import.meta.url))).toBe(true);
  });
});
