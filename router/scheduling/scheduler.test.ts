import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createScheduler, PLUGIN_DURATION_METRIC } from './scheduler.ts';
import { DEFAULT_PROFILE, ROUND_ROBIN_PROFILE, SchedulingProfileConfig } from './config.ts';
import { computePrefixBlockHashes } from './prefix-hash.ts';
import { makeBackend, makeMetrics, makeRequest, seededRandom } from './testing.ts';
import type { BackendState, SchedulingRequest } from './contracts.ts';

const SYSTEM_PROMPT =
  'You are Switchyard support. Follow the policy below exactly. '.repeat(10) +
  Array.from({ length: 40 }, (_, index) => `Rule ${index}: answer politely and cite section ${index * 7}.`).join(' ');

function chatRequest(id: string, system: string, user: string): SchedulingRequest {
  const messages = [
    { role: 'system', content: system },
    { role: 'user', content: user },
  ];
  return makeRequest({
    requestId: id,
    promptTokens: Math.ceil((system.length + user.length) / 4),
    prefixBlockHashes: computePrefixBlockHashes(messages),
  });
}

describe('default profile', () => {
  it('is prefix affinity plus predicted TTFT plus the router-side in-flight counters', () => {
    expect(DEFAULT_PROFILE.scorers.map((scorer) => [scorer.type, scorer.weight])).toEqual([
      ['prefix-affinity', 3],
      ['predicted-ttft', 3],
      ['in-flight', 0.5],
    ]);
    expect(DEFAULT_PROFILE.picker.type).toBe('max-score');
    expect(DEFAULT_PROFILE.scrapeIntervalMs).toBeLessThanOrEqual(100);
  });

  it('prefers the idle replica over loaded ones (scraped load)', () => {
    const scheduler = createScheduler(DEFAULT_PROFILE);
    const candidates = [
      makeBackend('busy', { metrics: makeMetrics({ requestsRunning: 60, requestsWaiting: 9, kvCacheUsage: 0.85 }) }),
      makeBackend('idle', { metrics: makeMetrics({ requestsRunning: 1, requestsWaiting: 0, kvCacheUsage: 0.05 }) }),
      makeBackend('medium', { metrics: makeMetrics({ requestsRunning: 20, requestsWaiting: 3, kvCacheUsage: 0.4 }) }),
    ];
    for (let index = 0; index < 20; index++) {
      const result = scheduler.schedule(makeRequest({ requestId: `r${index}` }), candidates);
      expect(result.picked?.backend.id).toBe('idle');
      expect(result.ranked.map((entry) => entry.backend.id)).toEqual(['idle', 'medium', 'busy']);
    }
  });

  it('prefers the replica with the least prefill queued ahead (a long document is being prefilled elsewhere)', () => {
    const scheduler = createScheduler(DEFAULT_PROFILE);
    const candidates = [
      makeBackend('prefilling', { inFlightRequests: 2, inFlightTokens: 6_400, pendingPrefillTokens: 6_000 }),
      makeBackend('decoding', { inFlightRequests: 2, inFlightTokens: 6_400, pendingPrefillTokens: 0 }),
    ];
    expect(scheduler.schedule(makeRequest(), candidates).picked?.backend.id).toBe('decoding');
  });

  it('prefers the idle replica between scrapes from the router in-flight counters alone', () => {
    const scheduler = createScheduler(DEFAULT_PROFILE);
    const candidates = [
      makeBackend('a', { inFlightRequests: 7, inFlightTokens: 9_000 }),
      makeBackend('b', { inFlightRequests: 0, inFlightTokens: 0 }),
      makeBackend('c', { inFlightRequests: 3, inFlightTokens: 2_000 }),
    ];
    expect(scheduler.schedule(makeRequest(), candidates).picked?.backend.id).toBe('b');
  });

  it('sends a repeated long system prompt to the same replica, where round robin scatters it', () => {
    const gpuAware = createScheduler(DEFAULT_PROFILE);
    const roundRobin = createScheduler(ROUND_ROBIN_PROFILE);
    const replicas = () => ['r0', 'r1', 'r2', 'r3'].map((id) => makeBackend(id));
    const gpuState = replicas();
    const chosenGpu: string[] = [];
    const chosenRoundRobin = new Set<string>();
    for (let index = 0; index < 24; index++) {
      const request = chatRequest(`q${index}`, SYSTEM_PROMPT, `Question ${index}: where is my order #${index * 31}?`);
      const picked = gpuAware.schedule(request, gpuState).picked!;
      chosenGpu.push(picked.backend.id);
      gpuAware.recordServed(request, picked.backend.id);
      // The affinity target also gets busier, as it would: in-flight work must not outweigh a long shared prefix.
      const target = gpuState.find((backend) => backend.id === picked.backend.id)!;
      target.inFlightRequests = Math.min(target.inFlightRequests + 1, 3);
      target.inFlightTokens = target.inFlightRequests * 1_000;
      chosenRoundRobin.add(roundRobin.schedule(request, replicas()).picked!.backend.id);
    }
    expect(new Set(chosenGpu).size).toBe(1);
    expect(chosenRoundRobin.size).toBe(4);
  });

  it('spreads unrelated prompts over equal idle replicas instead of piling onto one', () => {
    const scheduler = createScheduler(DEFAULT_PROFILE);
    const candidates = ['r0', 'r1', 'r2', 'r3'].map((id) => makeBackend(id));
    const seen = new Set<string>();
    for (let index = 0; index < 40; index++) {
      seen.add(scheduler.schedule(makeRequest({ requestId: `unrelated-${index}` }), candidates).picked!.backend.id);
    }
    expect(seen.size).toBe(4);
  });
});

describe('filters and saturation', () => {
  it('removes a backend with stale metrics and records why', () => {
    const scheduler = createScheduler(DEFAULT_PROFILE);
    const stale = makeBackend('stale', { metricsStale: true, metrics: makeMetrics({ kvCacheUsage: 0 }) });
    const fresh = makeBackend('fresh', { metrics: makeMetrics({ requestsWaiting: 10, kvCacheUsage: 0.9 }) });
    const result = scheduler.schedule(makeRequest(), [stale, fresh]);
    expect(result.picked?.backend.id).toBe('fresh');
    expect(result.droppedBy).toEqual({ stale: 'not-saturated' });
    expect(result.allSaturated).toBe(false);
  });

  it('reports allSaturated when every candidate is saturated or stale (spill-over signal)', () => {
    const scheduler = createScheduler(DEFAULT_PROFILE);
    const result = scheduler.schedule(makeRequest(), [
      makeBackend('stale', { metricsStale: true }),
      makeBackend('queue', { metrics: makeMetrics({ requestsWaiting: 40 }) }),
      makeBackend('kv', { metrics: makeMetrics({ kvCacheUsage: 0.99 }) }),
      makeBackend('never-scraped', { metrics: undefined }),
      makeBackend('down', { healthy: false }),
    ]);
    expect(result.picked).toBeUndefined();
    expect(result.ranked).toEqual([]);
    expect(result.allSaturated).toBe(true);
    expect(result.droppedBy).toEqual({
      down: 'healthy',
      stale: 'not-saturated',
      queue: 'not-saturated',
      kv: 'not-saturated',
      'never-scraped': 'not-saturated',
    });
  });

  it('drops a replica whose router-side pending prefill is over the limit, before any scrape shows its queue', () => {
    const scheduler = createScheduler(DEFAULT_PROFILE);
    // The last scrape says 'burst' is the only replica under the KV limit; the router has since sent it 20K tokens.
    const burst = makeBackend('burst', { pendingPrefillTokens: 20_000, metrics: makeMetrics({ kvCacheUsage: 0.9 }) });
    const full = makeBackend('full', { pendingPrefillTokens: 0, metrics: makeMetrics({ kvCacheUsage: 0.97 }) });
    const result = scheduler.schedule(makeRequest(), [burst, full]);
    expect(result.droppedBy).toEqual({ burst: 'not-saturated', full: 'not-saturated' });
    expect(result.allSaturated).toBe(true);
    // Where to queue if there is no spill-over: by predicted TTFT, the replica with nothing queued ahead.
    expect(result.bestSaturated?.backend.id).toBe('full');
    const under = makeBackend('burst', { pendingPrefillTokens: 15_000, metrics: makeMetrics({ kvCacheUsage: 0.9 }) });
    expect(scheduler.schedule(makeRequest(), [under, full]).picked?.backend.id).toBe('burst');
  });

  it('does not report allSaturated when the pool is down or serves another model', () => {
    const scheduler = createScheduler(DEFAULT_PROFILE);
    const down = scheduler.schedule(makeRequest(), [
      makeBackend('a', { healthy: false }),
      makeBackend('b', { circuit: 'open' }),
    ]);
    expect(down.allSaturated).toBe(false);
    expect(down.droppedBy).toEqual({ a: 'healthy', b: 'circuit-closed' });
    const other = scheduler.schedule(makeRequest({ model: 'llama-3.1-70b' }), [makeBackend('a')]);
    expect(other.allSaturated).toBe(false);
    expect(scheduler.schedule(makeRequest(), []).allSaturated).toBe(false);
  });

  it('lets a half-open backend through for its probe and keeps hosted backends without metrics', () => {
    const scheduler = createScheduler(DEFAULT_PROFILE);
    const hosted = makeBackend('hosted', { kind: 'openai', metricsStale: false, metrics: undefined });
    const result = scheduler.schedule(makeRequest(), [makeBackend('probe', { circuit: 'half-open' }), hosted]);
    expect(result.ranked.map((entry) => entry.backend.id).sort()).toEqual(['hosted', 'probe']);
  });
});

describe('other plugins through the scheduler', () => {
  it('round robin cycles over the candidates in id order per model', () => {
    const scheduler = createScheduler(ROUND_ROBIN_PROFILE);
    const candidates = [makeBackend('c'), makeBackend('a'), makeBackend('b')];
    const picks = Array.from({ length: 6 }, () => scheduler.schedule(makeRequest(), candidates).picked!.backend.id);
    expect(picks).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('session affinity keeps a conversation on the backend of its last turn until the TTL passes', () => {
    let now = 0;
    const scheduler = createScheduler(
      {
        scorers: [
          { type: 'session-affinity', weight: 5, ttlMs: 1_000 },
          { type: 'in-flight', weight: 1 },
        ],
      },
      { clock: () => now },
    );
    const candidates = [makeBackend('a', { inFlightRequests: 2 }), makeBackend('b')];
    const request = makeRequest({ sessionKey: 'user-42' });
    expect(scheduler.schedule(request, candidates).picked?.backend.id).toBe('b');
    scheduler.recordServed(request, 'a');
    expect(scheduler.schedule(request, candidates).picked?.backend.id).toBe('a');
    now = 5_000;
    expect(scheduler.schedule(request, candidates).picked?.backend.id).toBe('b');
  });

  it('weighted random follows the scores with an injected RNG', () => {
    const scheduler = createScheduler(
      { scorers: [{ type: 'cost', weight: 1 }], picker: { type: 'weighted-random', sharpness: 1 } },
      { random: seededRandom(11) },
    );
    const candidates = [
      makeBackend('cheap', { relativeCost: 1 }),
      makeBackend('mid', { relativeCost: 2 }),
      makeBackend('dear', { relativeCost: 3 }),
    ];
    const counts: Record<string, number> = { cheap: 0, mid: 0, dear: 0 };
    for (let index = 0; index < 2_000; index++)
      counts[scheduler.schedule(makeRequest(), candidates).picked!.backend.id]!++;
    // Scores 1, 0.5, 0 → expected shares 2/3, 1/3, 0.
    expect(counts['dear']).toBe(0);
    expect(counts['cheap']! / counts['mid']!).toBeGreaterThan(1.5);
    expect(counts['cheap']! / counts['mid']!).toBeLessThan(2.6);
  });

  async function timedCounts(registry: Registry): Promise<Map<string, number>> {
    const metric = await registry.getSingleMetric(PLUGIN_DURATION_METRIC)!.get();
    const counts = new Map<string, number>();
    for (const value of metric.values as Array<{
      metricName?: string;
      labels: Record<string, string | number>;
      value: number;
    }>) {
      if (value.metricName === `${PLUGIN_DURATION_METRIC}_count`) {
        counts.set(`${value.labels['kind']}/${value.labels['plugin']}`, value.value);
      }
    }
    return counts;
  }

  it('times every plugin call into one shared histogram when sampling is off', async () => {
    const registry = new Registry();
    const first = createScheduler({ ...DEFAULT_PROFILE, timingSampleEvery: 1 }, { registry });
    const second = createScheduler({ ...ROUND_ROBIN_PROFILE, timingSampleEvery: 1 }, { registry });
    const candidates: BackendState[] = [makeBackend('a'), makeBackend('b')];
    for (let index = 0; index < 5; index++) {
      first.schedule(makeRequest(), candidates);
      second.schedule(makeRequest(), candidates);
    }
    const counts = await timedCounts(registry);
    expect(counts.get('filter/healthy')).toBe(10);
    expect(counts.get('filter/not-saturated')).toBe(5);
    expect(counts.get('scorer/prefix-affinity')).toBe(5);
    expect(counts.get('picker/max-score')).toBe(5);
    expect(counts.get('picker/round-robin')).toBe(5);
  });

  it('times the first scheduling call and then one in timingSampleEvery', async () => {
    const registry = new Registry();
    const scheduler = createScheduler({ ...DEFAULT_PROFILE, timingSampleEvery: 16 }, { registry });
    const candidates: BackendState[] = [makeBackend('a'), makeBackend('b')];
    for (let index = 0; index < 33; index++) scheduler.schedule(makeRequest(), candidates);
    const counts = await timedCounts(registry);
    // Calls 0, 16 and 32 are timed.
    expect(counts.get('filter/healthy')).toBe(3);
    expect(counts.get('scorer/predicted-ttft')).toBe(3);
    expect(counts.get('picker/max-score')).toBe(3);
  });
});

describe('SchedulingProfileConfig', () => {
  it('accepts the short and long plugin forms', () => {
    const profile = SchedulingProfileConfig.parse({
      filters: ['healthy', { type: 'not-saturated', maxQueue: 4 }],
      scorers: ['queue', { type: 'prefix-affinity', weight: 3 }],
      picker: 'weighted-random',
      scrapeIntervalMs: 25,
    });
    expect(profile.filters[1]).toEqual({
      type: 'not-saturated',
      maxQueue: 4,
      maxKvCacheUsage: 0.95,
      maxPendingPrefillTokens: 16_000,
      requireMetrics: true,
    });
    expect(profile.scorers[0]).toEqual({ type: 'queue', weight: 1 });
    expect(profile.picker).toEqual({ type: 'weighted-random', sharpness: 4 });
  });

  it('names the bad path', () => {
    const bad = SchedulingProfileConfig.safeParse({ scorers: [{ type: 'queue', weight: -1 }], scrapeIntervalMs: 500 });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((issue) => issue.path.join('.'));
    expect(paths).toContain('scorers.0.weight');
    expect(paths).toContain('scrapeIntervalMs');
    const unknown = SchedulingProfileConfig.safeParse({ filters: ['magic'] });
    expect(unknown.error!.issues[0]!.path.join('.')).toBe('filters.0.type');
    const stale = SchedulingProfileConfig.safeParse({ scrapeIntervalMs: 100, staleAfterMs: 50 });
    expect(stale.error!.issues[0]!.path.join('.')).toBe('staleAfterMs');
  });
});

describe('estimateUncachedPromptTokens', () => {
  it('subtracts the prefix the picked backend probably has cached', async () => {
    const { estimateUncachedPromptTokens } = await import('./prefill-estimate.ts');
    const scheduler = createScheduler(DEFAULT_PROFILE);
    const first = chatRequest('a', SYSTEM_PROMPT, 'first question, which is long enough to take a block of its own');
    scheduler.recordServed(first, 'r0');
    const second = chatRequest('b', SYSTEM_PROMPT, 'another question, which is long enough to take a block of its own');
    const result = scheduler.schedule(second, [makeBackend('r0'), makeBackend('r1')]);
    expect(result.picked?.backend.id).toBe('r0');
    const uncached = estimateUncachedPromptTokens(second, result.picked);
    expect(uncached).toBeGreaterThan(0);
    expect(uncached).toBeLessThan(second.promptTokens / 4);
    const cold = result.ranked.find((entry) => entry.backend.id === 'r1');
    expect(estimateUncachedPromptTokens(second, cold)).toBe(second.promptTokens);
    expect(estimateUncachedPromptTokens(second, undefined)).toBe(second.promptTokens);
  });
});

describe('bestSaturated', () => {
  it('ranks saturated backends for a caller that cannot spill over, busy before stale, still respecting other filters', () => {
    const scheduler = createScheduler(DEFAULT_PROFILE);
    const result = scheduler.schedule(makeRequest(), [
      makeBackend('stale', { metricsStale: true }),
      makeBackend('very-busy', {
        metrics: makeMetrics({ requestsWaiting: 60, kvCacheUsage: 0.99 }),
        inFlightRequests: 70,
      }),
      makeBackend('busy', { metrics: makeMetrics({ requestsWaiting: 20, kvCacheUsage: 0.96 }), inFlightRequests: 30 }),
      makeBackend('other-model', { models: ['llama-3.1-70b'], metrics: makeMetrics({ requestsWaiting: 20 }) }),
    ]);
    expect(result.allSaturated).toBe(true);
    expect(result.picked).toBeUndefined();
    expect(result.bestSaturated?.backend.id).toBe('busy');
  });

  it('is absent when something is available, and falls back to stale backends only when nothing else is left', () => {
    const scheduler = createScheduler(DEFAULT_PROFILE);
    expect(scheduler.schedule(makeRequest(), [makeBackend('ok')]).bestSaturated).toBeUndefined();
    const onlyStale = scheduler.schedule(makeRequest(), [makeBackend('stale', { metricsStale: true })]);
    expect(onlyStale.bestSaturated?.backend.id).toBe('stale');
    expect(scheduler.schedule(makeRequest(), [makeBackend('down', { healthy: false })]).bestSaturated).toBeUndefined();
  });
});

describe('ranked is the picker order', () => {
  const ids = (result: { ranked: ReadonlyArray<{ backend: BackendState }> }) =>
    result.ranked.map((entry) => entry.backend.id);

  it('round robin: the rotation starting at this turn, so a skipped backend passes the turn on', () => {
    const scheduler = createScheduler(ROUND_ROBIN_PROFILE);
    const candidates = [makeBackend('c'), makeBackend('a'), makeBackend('b')];
    expect(ids(scheduler.schedule(makeRequest(), candidates))).toEqual(['a', 'b', 'c']);
    expect(ids(scheduler.schedule(makeRequest(), candidates))).toEqual(['b', 'c', 'a']);
    const third = scheduler.schedule(makeRequest(), candidates);
    expect(ids(third)).toEqual(['c', 'a', 'b']);
    expect(third.picked).toBe(third.ranked[0]);
  });

  it('max-score: best score first, ties by fewer in-flight, then at random (not by id)', () => {
    const scheduler = createScheduler({ scorers: [{ type: 'cost', weight: 1 }] }, { random: seededRandom(3) });
    const candidates = [
      makeBackend('a', { relativeCost: 2, inFlightRequests: 1 }),
      makeBackend('b', { relativeCost: 2, inFlightRequests: 0 }),
      makeBackend('c', { relativeCost: 1, inFlightRequests: 9 }),
    ];
    expect(ids(scheduler.schedule(makeRequest(), candidates))).toEqual(['c', 'b', 'a']);
    const idle = ['a', 'b', 'c', 'd'].map((id) => makeBackend(id));
    const firsts = new Map<string, number>();
    for (let index = 0; index < 400; index++) {
      const first = scheduler.schedule(makeRequest({ requestId: 'same-id' }), idle).picked!.backend.id;
      firsts.set(first, (firsts.get(first) ?? 0) + 1);
    }
    expect(firsts.size).toBe(4);
    for (const count of firsts.values()) expect(count).toBeGreaterThan(60);
  });

  it('weighted random: the first of the order is drawn in proportion to score^sharpness', () => {
    const scheduler = createScheduler(
      { scorers: [{ type: 'cost', weight: 1 }], picker: { type: 'weighted-random', sharpness: 1 } },
      { random: seededRandom(12) },
    );
    const candidates = [
      makeBackend('cheap', { relativeCost: 1 }),
      makeBackend('mid', { relativeCost: 2 }),
      makeBackend('dear', { relativeCost: 3 }),
    ];
    const counts: Record<string, number> = { cheap: 0, mid: 0, dear: 0 };
    for (let index = 0; index < 2_000; index++) {
      const result = scheduler.schedule(makeRequest(), candidates);
      expect(result.ranked).toHaveLength(3);
      expect(result.ranked.at(-1)!.backend.id).toBe('dear'); // weight 0 always last
      counts[result.ranked[0]!.backend.id]!++;
    }
    expect(counts['dear']).toBe(0);
    expect(counts['cheap']! / counts['mid']!).toBeGreaterThan(1.6);
    expect(counts['cheap']! / counts['mid']!).toBeLessThan(2.5);
  });
});
