// Cache partitions through the real router (official openai SDK, scripted vLLM-like upstream, the generated tiny
// embedder for the semantic cache): an answer stored for one key, guardrail profile or route is never served to
// another, in the exact and the semantic cache, as JSON and as SSE replay.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_EMBEDDER_PATH } from '../config/default.ts';
import { startTestRouter, type TestRouter } from '../testing/harness.ts';
import { cacheScope, type CacheScopeParts } from './cache/scope.ts';
import { cacheKey } from './cache/response-cache.ts';
import { semanticRequest } from './cache/semantic-cache.ts';
import { startFakeUpstream, type FakeUpstream } from '../../core/testing/fake-upstream.ts';

const ADMIN = 'scope-admin-token-0123456789';
const CARD = '4111 1111 1111 1111';
let upstream: FakeUpstream;
let harness: TestRouter;
let indexRoot: string;

async function createKey(settings: Record<string, unknown>): Promise<OpenAI> {
  const response = await fetch(`${harness.router.url}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ owner: 'tests', ...settings }),
  });
  expect(response.status).toBe(201);
  const { key } = (await response.json()) as { key: string };
  return new OpenAI({ baseURL: `${harness.router.url}/v1`, apiKey: key, maxRetries: 0, timeout: 15_000 });
}

async function askJson(
  client: OpenAI,
  content: string,
  model = 'small',
): Promise<{ cache: string | null; text: string }> {
  const { data, response } = await client.chat.completions
    .create({ model, temperature: 0, messages: [{ role: 'user', content }] })
    .withResponse();
  return { cache: response.headers.get('x-switchyard-cache'), text: data.choices[0]?.message.content ?? '' };
}

async function askStream(client: OpenAI, content: string): Promise<{ cache: string | null; text: string }> {
  const { data, response } = await client.chat.completions
    .create({ model: 'small', temperature: 0, stream: true, messages: [{ role: 'user', content }] })
    .withResponse();
  let text = '';
  for await (const chunk of data) text += chunk.choices[0]?.delta?.content ?? '';
  return { cache: response.headers.get('x-switchyard-cache'), text };
}

beforeAll(async () => {
  indexRoot = mkdtempSync(join(tmpdir(), 'cache-scope-'));
  upstream = await startFakeUpstream({ chunks: ['Hello', ' there', '.'], kvUsage: 0.2 });
  harness = await startTestRouter({
    pools: [
      { name: 'gpu', kind: 'vllm', model: 'llama-3.1-8b', gpu: 'h100', backends: [{ id: 'gpu-0', url: upstream.url }] },
      {
        name: 'gpu-b',
        kind: 'vllm',
        model: 'llama-3.1-8b',
        gpu: 'h100',
        backends: [{ id: 'gpu-b-0', url: upstream.url }],
      },
    ],
    models: [
      { name: 'llama-3.1-8b', aliases: ['small'], route: ['gpu'] },
      { name: 'other-route', route: ['gpu-b'] },
    ],
    scheduling: { scrapeIntervalMs: 50, staleAfterMs: 10_000 },
    retries: { maxAttempts: 1 },
    retrieval: {
      enabled: true,
      indexRoot,
      embedder: TINY_EMBEDDER_PATH,
      reranker: null,
      offline: true,
      preload: false,
    },
    governance: {
      enabled: true,
      keys: { database: ':memory:', adminToken: ADMIN },
      cache: { enabled: true, semantic: { enabled: true, threshold: 0.95 } },
      guardrails: { profiles: { open: { output: { pii: 'off' } } } },
      logging: { level: 'silent' },
    },
  });
});
afterAll(async () => {
  await harness?.close();
  await upstream?.close();
  if (indexRoot) rmSync(indexRoot, { recursive: true, force: true });
});

describe('cache partitions in the real router', () => {
  it('never serves an answer stored under a pii-off profile to a key whose profile redacts (JSON and SSE)', async () => {
    const open = await createKey({ name: 'open', guardrailProfile: 'open', team: 'red' });
    const strict = await createKey({ name: 'strict', team: 'red' });
    upstream.settings.chunks = ['Card on file: ', CARD, '.'];

    const stored = await askJson(open, 'Which card is on file?');
    expect(stored).toEqual({ cache: 'miss', text: `Card on file: ${CARD}.` });
    expect(await askJson(open, 'Which card is on file?')).toMatchObject({ cache: 'hit' });
    const strictJson = await askJson(strict, 'Which card is on file?');
    expect(strictJson.cache).toBe('miss');
    expect(strictJson.text).not.toContain(CARD);

    const storedStream = await askStream(open, 'What is the weather forecast for tomorrow?');
    expect(storedStream).toEqual({ cache: 'miss', text: `Card on file: ${CARD}.` });
    expect(await askStream(open, 'What is the weather forecast for tomorrow?')).toMatchObject({
      cache: 'hit',
      text: `Card on file: ${CARD}.`,
    });
    const strictStream = await askStream(strict, 'What is the weather forecast for tomorrow?');
    expect(strictStream.cache).toBe('miss');
    expect(strictStream.text).not.toContain(CARD);
    // JSON stored answers replayed as SSE stay inside their partition too.
    const replay = await askStream(strict, 'Which card is on file?');
    expect(replay.cache).toBe('hit');
    expect(replay.text).not.toContain(CARD);
  });

  it('keeps keys with the same profile apart by default, and routes apart', async () => {
    const first = await createKey({ name: 'first', team: 'blue' });
    const second = await createKey({ name: 'second', team: 'blue' });
    upstream.settings.chunks = ['Tenant one answer.'];
    expect((await askJson(first, 'What is my balance?')).cache).toBe('miss');
    expect((await askJson(first, 'What is my balance?')).cache).toBe('hit');
    upstream.settings.chunks = ['Tenant two answer.'];
    expect(await askJson(second, 'What is my balance?')).toEqual({ cache: 'miss', text: 'Tenant two answer.' });
    expect(await askJson(first, 'What is my balance?', 'other-route')).toEqual({
      cache: 'miss',
      text: 'Tenant two answer.',
    });
  });

  it('keeps the semantic cache inside the same partitions', async () => {
    const first = await createKey({ name: 'semantic-first' });
    const second = await createKey({ name: 'semantic-second' });
    upstream.settings.chunks = ['You can pay', ' it from the billing page.'];
    expect((await askJson(first, 'How do I pay my invoice?')).cache).toBe('miss');
    expect((await askJson(first, 'how do I pay my invoice')).cache).toBe('semantic-hit');
    expect((await askStream(first, 'How do I pay my invoice please?')).cache).toBe('semantic-hit');
    upstream.settings.chunks = ['Other tenant.'];
    expect(await askJson(second, 'how do I pay my invoice')).toEqual({ cache: 'miss', text: 'Other tenant.' });
    expect(await askStream(second, 'How do I pay my invoice please?')).toMatchObject({
      cache: 'semantic-hit',
      text: 'Other tenant.',
    });
  });
});

describe('cacheScope', () => {
  const base: CacheScopeParts = {
    sharing: 'key',
    key: { id: 'k1', team: 't' },
    policy: { output: { pii: 'redact' } },
    prompt: undefined,
    route: 'm:gpu',
  };
  const body = { model: 'm', temperature: 0, messages: [{ role: 'user', content: 'x' }] };
  const key = (parts: Partial<CacheScopeParts>): string => cacheKey('chat', body, cacheScope({ ...base, ...parts }));

  it('changes the exact key and the semantic partition with each part', () => {
    const reference = key({});
    expect(key({})).toBe(reference);
    for (const part of [
      { key: { id: 'k2', team: 't' } },
      { policy: { output: { pii: 'off' } } },
      { prompt: { name: 'p', version: '2', hash: 'abc' } },
      { route: 'm:gpu>hosted' },
      { sharing: 'shared' as const },
    ]) {
      expect(key(part)).not.toBe(reference);
    }
    expect(semanticRequest('chat', body, cacheScope(base))?.partition).not.toBe(
      semanticRequest('chat', body, cacheScope({ ...base, key: { id: 'k2', team: 't' } }))?.partition,
    );
  });

  it('shares within a team under `team` and across everyone under `shared`', () => {
    expect(key({ sharing: 'team' })).toBe(key({ sharing: 'team', key: { id: 'k2', team: 't' } }));
    expect(key({ sharing: 'team' })).not.toBe(key({ sharing: 'team', key: { id: 'k1', team: 'u' } }));
    expect(key({ sharing: 'shared' })).toBe(key({ sharing: 'shared', key: { id: 'k9', team: 'u' } }));
  });
});
