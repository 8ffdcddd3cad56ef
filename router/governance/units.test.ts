// Unit tests of the smaller parts: key store, cost rules, cache, prompt registry, config merging.
import { describe, expect, it } from 'vitest';
import { loadPrices } from '../../models/catalog/prices.ts';
import { ResponseCache, answerAsBody, answerAsChunks, cacheKey, isCacheable } from './cache/response-cache.ts';
import { GovernanceConfig, mergePolicy } from '../config/governance.ts';
import { CostMeter } from './cost/cost.ts';
import { PricingCatalog } from './cost/pricing.ts';
import { KeyStore } from './keys/store.ts';
import { PromptRegistry } from './prompts/registry.ts';
import { TEST_POOLS, TEST_ROUTES } from './testing/chain-app.ts';
import { countChatTokens } from './tokens.ts';

describe('key store', () => {
  it('creates, authenticates, disables and aggregates spend', () => {
    let now = Date.parse('2026-11-27T10:00:00Z');
    const store = new KeyStore({ path: ':memory:', cacheMs: 0, clock: () => now, pepper: 'p' });
    const { key, record } = store.create({ name: 'a', owner: 'alice', team: 't1', rpm: 5 });
    expect(key).toMatch(/^sy-[A-Za-z0-9_-]{43}$/);
    expect(record.hint).toBe(`sy-…${key.slice(-4)}`);
    expect(store.authenticate(key)?.id).toBe(record.id);
    expect(store.authenticate(`${key}x`)).toBeUndefined();
    const other = new KeyStore({ path: ':memory:', pepper: 'q' });
    expect(other.hash(key)).not.toBe(store.hash(key));
    other.close();
    store.setDisabled(record.id, true);
    expect(store.authenticate(key)?.disabled).toBe(true);
    for (const [day, cost] of [
      ['2026-11-26', 1],
      ['2026-11-27', 2],
      ['2026-11-27', 3],
    ] as const) {
      store.recordSpend({
        keyId: record.id,
        team: 't1',
        model: 'm',
        day,
        promptTokens: 10,
        completionTokens: 5,
        costUsd: cost,
        cached: false,
      });
    }
    expect(store.spend('day')).toEqual([
      { group: '2026-11-26', requests: 1, promptTokens: 10, completionTokens: 5, costUsd: 1, cachedRequests: 0 },
      { group: '2026-11-27', requests: 2, promptTokens: 20, completionTokens: 10, costUsd: 5, cachedRequests: 0 },
    ]);
    expect(store.spentBetween(record.id, '2026-11-27', '2026-11-27')).toBe(5);
    expect(store.spend('team', { from: '2026-11-27' })[0]?.costUsd).toBe(5);
    now += 1;
    store.close();
  });
});

describe('cost rules', () => {
  const pricing = new PricingCatalog(TEST_POOLS, TEST_ROUTES);
  it('prices hosted pools from the catalog and self-hosted pools from GPU prices', () => {
    const prices = loadPrices();
    expect(pricing.forPool('hosted-pool', 'hosted-small')).toMatchObject({
      kind: 'hosted',
      upstreamModel: 'gpt-4o-mini',
      inputPer1M: prices.hosted['gpt-4o-mini']?.input,
    });
    expect(pricing.forPool('gpu-pool', 'small')).toEqual({
      kind: 'self-hosted',
      pool: 'gpu-pool',
      gpus: 2,
      hourlyPerGpu: prices.gpus.h100?.hourly,
    });
    expect(pricing.canonical('small')).toBe('llama-3.1-8b');
  });

  it('shares a backend’s busy GPU time by tokens and reports idle time as waste', () => {
    let now = 0;
    const meter = new CostMeter({
      windowSeconds: 60,
      promptTokenWeight: 1,
      bootstrapTokensPerGpuSecond: 400,
      clock: () => now,
    });
    const gpu = pricing.forPool('gpu-pool', 'small');
    if (gpu?.kind !== 'self-hosted') throw new Error('expected self-hosted');
    meter.registerBackend('b0', gpu);
    const perSecond = (2 * gpu.hourlyPerGpu) / 3600;
    // Alone for 2 s: pays its whole busy time.
    now = 3_000;
    const alone = meter.charge(
      gpu,
      { promptTokens: 50, completionTokens: 50 },
      { backendId: 'b0', startedAt: 1_000, endedAt: 3_000 },
    );
    expect(alone).toBeCloseTo(2 * perSecond, 10);
    // Two overlapping requests over [4 s, 6 s] with 100 and 300 tokens: 2 s of new busy time in the window.
    now = 6_000;
    const small = meter.charge(
      gpu,
      { promptTokens: 50, completionTokens: 50 },
      { backendId: 'b0', startedAt: 4_000, endedAt: 5_000 },
    );
    const large = meter.charge(
      gpu,
      { promptTokens: 100, completionTokens: 200 },
      { backendId: 'b0', startedAt: 4_000, endedAt: 6_000 },
    );
    expect(small).toBeGreaterThan(0);
    // Averaged over the window: more tokens pay more (1.5 vs 2.4 GPU-seconds of cost here).
    expect(large).toBeGreaterThan(small * 1.5);
    const snapshot = meter.snapshot()[0];
    expect(snapshot?.busySeconds).toBeCloseTo(4, 5);
    expect(snapshot?.idleSeconds).toBeCloseTo(2, 5);
    expect(snapshot?.idleCostUsd).toBeCloseTo(2 * perSecond, 10);
    // Window rate after 4 s busy for 500 tokens: the worst case uses it with a 2× margin.
    const worst = meter.worstCaseUsd([gpu], 100, 100);
    expect(worst).toBeGreaterThanOrEqual(200 * ((4 * perSecond) / 500) * 2 * 0.99);
    const hosted = pricing.forPool('hosted-pool', 'hosted-small');
    if (!hosted) throw new Error('no hosted');
    expect(
      meter.charge(
        hosted,
        { promptTokens: 1_000_000, completionTokens: 0 },
        { backendId: 'h', startedAt: 0, endedAt: 0 },
      ),
    ).toBeCloseTo(0.15, 10);
  });

  it('keeps the sliding window exact over many expirations (running sums, compaction)', () => {
    let now = 0;
    const pricing = new PricingCatalog(TEST_POOLS, TEST_ROUTES);
    const meter = new CostMeter({
      windowSeconds: 60,
      promptTokenWeight: 1,
      bootstrapTokensPerGpuSecond: 400,
      clock: () => now,
    });
    const gpu = pricing.forPool('gpu-pool', 'small');
    if (gpu?.kind !== 'self-hosted') throw new Error('expected self-hosted');
    meter.registerBackend('b0', gpu);
    const perSecond = (2 * gpu.hourlyPerGpu) / 3600;
    // Identical requests, each busy 5 ms, one every 10 ms, for 200 s: ~6,000 in the window at a time and 14,000
    // expired. Every window then holds identical entries, so each request pays exactly its own busy time.
    let worstError = 0;
    for (let index = 0; index < 20_000; index++) {
      const startedAt = index * 10;
      now = startedAt + 5;
      const cost = meter.charge(
        gpu,
        { promptTokens: 30, completionTokens: 20 },
        { backendId: 'b0', startedAt, endedAt: now },
      );
      worstError = Math.max(worstError, Math.abs(cost / (0.005 * perSecond) - 1));
    }
    expect(worstError).toBeLessThan(1e-9);
    // After a quiet minute the window is empty: the next request pays its whole busy time again.
    now += 120_000;
    const alone = meter.charge(
      gpu,
      { promptTokens: 1, completionTokens: 1 },
      { backendId: 'b0', startedAt: now - 2_000, endedAt: now },
    );
    expect(alone).toBeCloseTo(2 * perSecond, 12);
  });
});

describe('response cache', () => {
  it('keys on normalised requests, ignoring stream and key order', () => {
    const a = cacheKey('chat', {
      model: 'm',
      temperature: 0,
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    const b = cacheKey('chat', { messages: [{ content: 'x', role: 'user' }], temperature: 0, model: 'm', user: 'u' });
    expect(a).toBe(b);
    expect(cacheKey('chat', { model: 'm', temperature: 0, messages: [], max_tokens: 5 })).not.toBe(
      cacheKey('chat', { model: 'm', temperature: 0, messages: [] }),
    );
    expect(isCacheable({ temperature: 0 }, false)).toBe(true);
    expect(isCacheable({ temperature: 1 }, false)).toBe(false);
    expect(isCacheable({ temperature: 1 }, true)).toBe(true);
    expect(isCacheable({ temperature: 0, n: 2 }, false)).toBe(false);
  });

  it('evicts least recently used entries by bytes and expires them', () => {
    let now = 0;
    const cache = new ResponseCache({ maxBytes: 300, ttlSeconds: 10, clock: () => now });
    const answer = (text: string) => ({ kind: 'body' as const, body: { text: text.repeat(100) } });
    cache.set('a', answer('a'));
    cache.set('b', answer('b'));
    expect(cache.get('a')).toBeDefined();
    cache.set('c', answer('c'));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.size.bytes).toBeLessThanOrEqual(300);
    now = 10_001;
    expect(cache.get('a')).toBeUndefined();
  });

  it('converts between stored bodies and stream chunks', () => {
    const body = {
      id: 'x',
      created: 1,
      model: 'm',
      choices: [
        { index: 0, message: { role: 'assistant', content: 'a long enough answer to split' }, finish_reason: 'stop' },
      ],
      usage: { prompt_tokens: 1 },
    };
    const chunks = answerAsChunks({ kind: 'body', body }, 'chat') ?? [];
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 1 } });
    const rebuilt = answerAsBody({ kind: 'chunks', chunks }, 'chat');
    expect(rebuilt).toMatchObject({
      object: 'chat.completion',
      choices: [{ message: { content: 'a long enough answer to split' }, finish_reason: 'stop' }],
    });
  });
});

describe('prompt registry', () => {
  const registry = PromptRegistry.fromDirectory(new URL('./prompts/fixtures', import.meta.url).pathname);
  it('renders the latest or a named version with defaults and a stable hash', () => {
    const latest = registry.render({ prompt: { name: 'support-answer', variables: { product: 'P', question: 'Q?' } } });
    expect(latest.version).toBe('2');
    expect(latest.body).toMatchObject({ model: 'llama-3.1-8b', max_tokens: 200, temperature: 0 });
    expect((latest.body['messages'] as Array<{ content: string }>)[1]?.content).toBe('Q?');
    const v1 = registry.render({
      model: 'other',
      prompt: { name: 'support-answer', version: 1, variables: { product: 'P', question: 'Q?' } },
    });
    expect(v1.body['model']).toBe('other');
    expect(v1.hash).not.toBe(latest.hash);
    expect(
      registry.render({ prompt: { name: 'support-answer', variables: { product: 'P', question: 'Q?' } } }).hash,
    ).toBe(latest.hash);
    expect(() => registry.render({ prompt: { name: 'support-answer', variables: { product: 'P' } } })).toThrow(
      /Missing prompt variables: question/,
    );
    expect(() => registry.render({ prompt: { name: 'nope' } })).toThrow(/Unknown prompt/);
  });
  it('rejects templates with undeclared variables', () => {
    expect(() =>
      new PromptRegistry().add({
        name: 'x',
        version: '1',
        variables: [],
        template: [{ role: 'user', content: '{{y}}' }],
      }),
    ).toThrow(/undeclared/);
  });
});

describe('config', () => {
  it('is off by default and merges guardrail profiles field by field', () => {
    const config = GovernanceConfig.parse({});
    expect(config.enabled).toBe(false);
    expect(config.limits.backend).toBe('memory');
    const merged = mergePolicy(
      config.guardrails.default,
      { output: { pii: 'block' } },
      { input: { injection: 'block' } },
    );
    expect(merged.output).toMatchObject({ pii: 'block', leakage: 'flag', holdBackChars: 48 });
    expect(merged.input.injection).toBe('block');
    expect(() => GovernanceConfig.parse({ limits: { backend: 'etcd' } })).toThrow();
  });
});

describe('token counting at admission (before the body is validated)', () => {
  it('passes over malformed message entries instead of throwing', () => {
    const messages = [null, 'text', { role: 'user', content: 'Say hi.' }] as unknown as ReadonlyArray<
      Record<string, unknown>
    >;
    const wellFormed = countChatTokens([{ role: 'user', content: 'Say hi.' }]);
    expect(countChatTokens(messages)).toBe(wellFormed);
  });
});
