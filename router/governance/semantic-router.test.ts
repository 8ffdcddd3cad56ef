// Allowed topics and the semantic cache through the real router (config → app → generation route → relay), with the
// official openai SDK as the client, a scripted vLLM-like upstream, and the generated tiny embedder named by the
// router's `retrieval` section (governance takes its embedder from there). The tiny model has random weights with
// planted word clusters (billing, weather, cooking, …), so the tests use near-identical vs unrelated texts, and
// billing phrases vs texts from other clusters; they say nothing about topic quality with a real model.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_EMBEDDER_PATH } from '../config/default.ts';
import { startTestRouter, type TestRouter } from '../testing/harness.ts';
import { governanceReady } from './router-adapter.ts';
import { startFakeUpstream, type FakeUpstream } from '../../core/testing/fake-upstream.ts';

const ADMIN = 'semantic-admin-token-0123456789';
let upstream: FakeUpstream;
let harness: TestRouter;
let indexRoot: string;

async function createKey(settings: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${harness.router.url}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ owner: 'tests', ...settings }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { key: string }).key;
}

const sdk = (key: string): OpenAI =>
  new OpenAI({ baseURL: `${harness.router.url}/v1`, apiKey: key, maxRetries: 0, timeout: 15_000 });

async function metricValue(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${harness.router.url}/metrics`)).text();
  const line = text.split('\n').find((entry) => entry.startsWith(`${name}{`) && entry.includes(labels));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

beforeAll(async () => {
  indexRoot = mkdtempSync(join(tmpdir(), 'semantic-router-'));
  upstream = await startFakeUpstream({ chunks: ['Hello', ' there', '.'], kvUsage: 0.2 });
  harness = await startTestRouter({
    pools: [
      { name: 'gpu', kind: 'vllm', model: 'llama-3.1-8b', gpu: 'h100', backends: [{ id: 'gpu-0', url: upstream.url }] },
    ],
    models: [
      { name: 'llama-3.1-8b', aliases: ['small'], route: ['gpu'] },
      { name: 'support-8b', route: ['gpu'] },
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
      guardrails: {
        topics: {
          billing: [
            'How do I pay my invoice?',
            'I want a refund for a billing charge',
            'Update the credit card on my account',
          ],
          weather: ['What is the weather forecast for tomorrow?'],
        },
        profiles: {
          'billing-only': { input: { topics: 'block', allowedTopics: ['billing'], topicThreshold: 0.6 } },
          'billing-flag': { input: { topics: 'flag', allowedTopics: ['billing'], topicThreshold: 0.6 } },
        },
      },
      logging: { level: 'silent' },
    },
  });
});
afterAll(async () => {
  await harness?.close();
  await upstream?.close();
  if (indexRoot) rmSync(indexRoot, { recursive: true, force: true });
});

describe('semantic cache in the real router', () => {
  it('serves a near-identical prompt from the cache (free, marked), misses unrelated prompts and other models', async () => {
    const key = await createKey({ name: 'semantic' });
    const client = sdk(key);
    upstream.settings.chunks = ['You can pay', ' it from the billing page.'];
    const ask = (content: string, model = 'llama-3.1-8b') =>
      client.chat.completions.create({ model, temperature: 0, messages: [{ role: 'user', content }] }).withResponse();

    const first = await ask('How do I pay my invoice?');
    expect(first.response.headers.get('x-switchyard-cache')).toBe('miss');
    const served = upstream.requestCount();

    upstream.settings.chunks = ['A different', ' answer.'];
    const paraphrase = await ask('how do I pay my invoice');
    expect(paraphrase.response.headers.get('x-switchyard-cache')).toBe('semantic-hit');
    // A cache hit is answered by governance itself, which must still return the request id (the hot path leaves it
    // to the writers).
    expect(paraphrase.response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(paraphrase.response.headers.get('x-switchyard-cache-similarity'))).toBeGreaterThanOrEqual(0.95);
    expect(paraphrase.response.headers.get('x-switchyard-cost-usd')).toBe('0.00000000');
    expect(paraphrase.data.choices[0]?.message.content).toBe('You can pay it from the billing page.');
    expect(upstream.requestCount()).toBe(served);

    // The same answer replayed as a stream.
    const stream = await client.chat.completions
      .create({
        model: 'llama-3.1-8b',
        temperature: 0,
        stream: true,
        messages: [{ role: 'user', content: 'How do I pay my invoice please?' }],
      })
      .withResponse();
    expect(stream.response.headers.get('x-switchyard-cache')).toBe('semantic-hit');
    let text = '';
    for await (const chunk of stream.data) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('You can pay it from the billing page.');
    expect(upstream.requestCount()).toBe(served);

    const unrelated = await ask('What is the weather tomorrow?');
    expect(unrelated.response.headers.get('x-switchyard-cache')).toBe('miss');
    expect(unrelated.data.choices[0]?.message.content).toBe('A different answer.');
    const otherModel = await ask('how do I pay my invoice', 'support-8b');
    expect(otherModel.response.headers.get('x-switchyard-cache')).toBe('miss');
    expect(otherModel.data.choices[0]?.message.content).toBe('A different answer.');
    expect(upstream.requestCount()).toBe(served + 2);
    expect(await metricValue('switchyard_cache_requests_total', 'result="semantic-hit"')).toBe(2);
  });

  it('compares only the last user message: another system prompt or temperature misses', async () => {
    const client = sdk(await createKey({ name: 'semantic-partition' }));
    upstream.settings.chunks = ['Answer one.'];
    const messages = [
      { role: 'system' as const, content: 'You are the billing assistant.' },
      { role: 'user' as const, content: 'I want a refund for a billing charge' },
    ];
    const first = await client.chat.completions.create({ model: 'small', temperature: 0, messages }).withResponse();
    expect(first.response.headers.get('x-switchyard-cache')).toBe('miss');
    const near = { role: 'user' as const, content: 'I want a refund for the billing charge' };
    const same = await client.chat.completions
      .create({ model: 'small', temperature: 0, messages: [messages[0]!, near] })
      .withResponse();
    expect(same.response.headers.get('x-switchyard-cache')).toBe('semantic-hit');
    const otherSystem = await client.chat.completions
      .create({ model: 'small', temperature: 0, messages: [{ role: 'system', content: 'You are a pirate.' }, near] })
      .withResponse();
    expect(otherSystem.response.headers.get('x-switchyard-cache')).toBe('miss');
    // A sampled request is not deterministic: not cached at all (bypass), semantically or not.
    const sampled = await client.chat.completions
      .create({ model: 'small', temperature: 0.7, messages: [messages[0]!, near] })
      .withResponse();
    expect(sampled.response.headers.get('x-switchyard-cache')).toBe('bypass');
  });
});

describe('allowed topics in the real router', () => {
  it('blocks an off-topic prompt with the OpenAI error JSON naming the rule, and passes an on-topic one', async () => {
    const key = await createKey({ name: 'topics-block', guardrailProfile: 'billing-only' });
    upstream.settings.chunks = ['Sure.'];
    const onTopic = await sdk(key).chat.completions.create({
      model: 'small',
      messages: [{ role: 'user', content: 'How do I pay the invoice?' }],
    });
    expect(onTopic.choices[0]?.message.content).toBe('Sure.');

    const before = upstream.requestCount();
    await expect(
      sdk(key).chat.completions.create({
        model: 'small',
        messages: [{ role: 'user', content: 'What is the best recipe for tomato soup?' }],
      }),
    ).rejects.toMatchObject({
      status: 400,
      code: 'content_policy_violation',
      message: expect.stringContaining('off_topic'),
    });
    // The same refusal over raw HTTP: exactly the OpenAI error shape.
    const raw = await fetch(`${harness.router.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'small', messages: [{ role: 'user', content: 'What is the weather tomorrow?' }] }),
    });
    expect(raw.status).toBe(400);
    const body = (await raw.json()) as { error: Record<string, unknown> };
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'content_policy_violation' });
    expect(body.error['message']).toMatch(/allowed-topics guardrail \(rule: off_topic\)/);
    expect(upstream.requestCount()).toBe(before);
    expect(await metricValue('switchyard_guardrail_decisions_total', 'rule="off_topic",action="block"')).toBe(2);
    expect(
      await metricValue('switchyard_guardrail_decisions_total', 'rule="on_topic",action="pass"'),
    ).toBeGreaterThanOrEqual(1);
  });

  it('flag mode passes an off-topic prompt but marks it (header and metric)', async () => {
    const key = await createKey({ name: 'topics-flag', guardrailProfile: 'billing-flag' });
    upstream.settings.chunks = ['Soup answer.'];
    const { data, response } = await sdk(key)
      .chat.completions.create({
        model: 'small',
        messages: [{ role: 'user', content: 'What is the best recipe for tomato soup?' }],
      })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('Soup answer.');
    expect(response.headers.get('x-switchyard-guardrails')).toContain('off_topic');
    expect(await metricValue('switchyard_guardrail_decisions_total', 'rule="off_topic",action="flag"')).toBe(1);
    const onTopic = await sdk(key)
      .chat.completions.create({
        model: 'small',
        messages: [{ role: 'user', content: 'Update the credit card on my account' }],
      })
      .withResponse();
    expect(onTopic.response.headers.get('x-switchyard-guardrails')).toBeNull();
  });

  it('keys without a topics profile are not checked', async () => {
    const key = await createKey({ name: 'topics-none' });
    upstream.settings.chunks = ['Any topic.'];
    const { response } = await sdk(key)
      .chat.completions.create({ model: 'small', messages: [{ role: 'user', content: 'Tell me about cats and dogs' }] })
      .withResponse();
    expect(response.status).toBe(200);
    expect(response.headers.get('x-switchyard-guardrails')).toBeNull();
  });
});

describe('a router whose embedding model fails to load', () => {
  it('does not start (the model error names the file), and sends nothing upstream', async () => {
    await expect(governanceReady(harness.router.runtime)).resolves.toBeUndefined();
    // Every file present (so the start-up file check passes) but the ONNX graph is garbage.
    const broken = join(indexRoot, 'broken-embedder');
    mkdirSync(join(broken, 'onnx'), { recursive: true });
    for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json'])
      copyFileSync(join(TINY_EMBEDDER_PATH, file), join(broken, file));
    writeFileSync(join(broken, 'onnx', 'model.onnx'), 'not an onnx graph');
    const before = upstream.requestCount();
    // startRouter awaits governanceReady: a topic guardrail that cannot judge must not serve (the per-request 503
    // fail-closed path for a model lost after start is covered in semantic.test.ts).
    await expect(
      startTestRouter({
        pools: [
          {
            name: 'gpu',
            kind: 'vllm',
            model: 'llama-3.1-8b',
            gpu: 'h100',
            backends: [{ id: 'gpu-0', url: upstream.url }],
          },
        ],
        models: [{ name: 'llama-3.1-8b', route: ['gpu'] }],
        governance: {
          enabled: true,
          keys: { enabled: false },
          embedder: { model: broken, offline: true },
          guardrails: { topics: { billing: ['How do I pay my invoice?'] }, default: { input: { topics: 'block' } } },
          logging: { level: 'silent' },
        },
      }),
    ).rejects.toThrow(/Could not load model "broken-embedder"/);
    expect(upstream.requestCount()).toBe(before);
  });
});
