// Units of allowed topics and the semantic cache: the HNSW-backed index (threshold, partitions, bounded entries with
// markDelete, TTL), what is compared semantically, the topic guard on the generated tiny embedder, config checks,
// start-up failures for a missing or broken model, and failing closed / open when the model cannot load.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Embedder } from '../../retrieval/contracts.ts';
import { HnswIndex } from '../../retrieval/indexes/hnsw.ts';
import { TINY_EMBEDDER_PATH } from '../config/default.ts';
import { SemanticCache, semanticRequest } from './cache/semantic-cache.ts';
import { GovernanceConfig, type GovernanceConfigInput } from '../config/governance.ts';
import { PricingCatalog } from './cost/pricing.ts';
import { assertEmbedderFiles, loadEmbedder, resolveEmbedderReference } from './embedder-source.ts';
import { Governance } from './governance.ts';
import { NOT_TEXT, TopicGuard, lastUserText } from './guardrails/topics.ts';
import { TEST_POOLS, TEST_ROUTES } from './testing/chain-app.ts';

/** A unit vector along `axis`, tilted towards `towards` by `tilt` (cosine to the axis = 1/sqrt(1+tilt²)). */
function vector(axis: number, towards = -1, tilt = 0, dimensions = 8): Float32Array {
  const out = new Float32Array(dimensions);
  out[axis] = 1;
  if (towards >= 0) out[towards] = tilt;
  const norm = Math.hypot(...out);
  return out.map((value) => value / norm);
}

function semanticCache(
  exactScanLimit: number,
  options: { maxEntries?: number; ttlSeconds?: number; clock?: () => number } = {},
): SemanticCache {
  return new SemanticCache({
    exactScanLimit,
    index: new HnswIndex(8, { space: 'cosine', initialCapacity: 4, efConstruction: 32, exactFilterLimit: 0 }),
    threshold: 0.95,
    maxEntries: options.maxEntries ?? 100,
    ttlSeconds: options.ttlSeconds ?? 60,
    ...(options.clock ? { clock: options.clock } : {}),
  });
}

class MemoryLog extends Writable {
  readonly lines: Array<Record<string, unknown>> = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    for (const line of chunk.toString().split('\n'))
      if (line.trim()) this.lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  }
}

function newGovernance(
  config: GovernanceConfigInput,
  embedder: Embedder | (() => Promise<Embedder>),
  log?: MemoryLog,
): Governance {
  return new Governance({
    config: GovernanceConfig.parse({ enabled: true, keys: { enabled: false }, ...config }),
    registry: new Registry(),
    pricing: new PricingCatalog(TEST_POOLS, TEST_ROUTES),
    embedder,
    ...(log ? { logDestination: log } : {}),
  });
}

let tiny: Embedder;
const scratch = mkdtempSync(join(tmpdir(), 'semantic-units-'));
beforeAll(async () => {
  tiny = await loadEmbedder(
    resolveEmbedderReference({ model: TINY_EMBEDDER_PATH, offline: true, dtype: 'fp32' }, undefined),
  );
});
afterAll(async () => {
  await tiny?.dispose();
  rmSync(scratch, { recursive: true, force: true });
});

// Both search paths: the HNSW graph (filtered by partition) and the exact scan used for small partitions.
describe.each([
  { path: 'HNSW search', exactScanLimit: 0 },
  { path: 'exact scan of small partitions', exactScanLimit: 256 },
])('SemanticCache ($path)', ({ exactScanLimit }) => {
  it('returns the nearest entry of the same partition at or above the threshold only', () => {
    const cache = semanticCache(exactScanLimit);
    cache.add('p1', vector(0), 'answer-a');
    cache.add('p1', vector(3), 'answer-b');
    cache.add('p2', vector(1), 'answer-c');
    const near = cache.lookup('p1', vector(0, 5, 0.2)); // cosine 0.98
    expect(near?.exactKey).toBe('answer-a');
    expect(near?.similarity).toBeCloseTo(1 / Math.hypot(1, 0.2), 4);
    expect(cache.lookup('p1', vector(0, 5, 0.5))).toBeUndefined(); // cosine 0.89 < 0.95
    expect(cache.lookup('p1', vector(1))).toBeUndefined(); // only p2 has it
    expect(cache.lookup('p2', vector(1))?.exactKey).toBe('answer-c');
  });

  it('is bounded in entries: the oldest is evicted (markDelete) and slots are reused', () => {
    const cache = semanticCache(exactScanLimit, { maxEntries: 3 });
    for (let axis = 0; axis < 8; axis += 1) cache.add('p', vector(axis), `answer-${axis}`);
    expect(cache.size).toBe(3);
    for (let axis = 0; axis < 5; axis += 1) expect(cache.lookup('p', vector(axis))).toBeUndefined();
    for (let axis = 5; axis < 8; axis += 1) expect(cache.lookup('p', vector(axis))?.exactKey).toBe(`answer-${axis}`);
    // Churn well past the initial capacity: still exactly the last three.
    for (let round = 0; round < 40; round += 1)
      cache.add('p', vector(round % 8, (round + 1) % 8, round / 40), `churn-${round}`);
    expect(cache.size).toBe(3);
    expect(cache.lookup('p', vector(39 % 8, 40 % 8, 39 / 40))?.exactKey).toBe('churn-39');
  });

  it('expires entries after the TTL and replaces an entry for the same exact key', () => {
    let now = 1_000_000;
    const cache = semanticCache(exactScanLimit, { ttlSeconds: 10, clock: () => now });
    cache.add('p', vector(0), 'answer');
    cache.add('p', vector(2), 'answer'); // same exact key: replaces
    expect(cache.size).toBe(1);
    expect(cache.lookup('p', vector(0))).toBeUndefined();
    expect(cache.lookup('p', vector(2))?.exactKey).toBe('answer');
    now += 10_001;
    expect(cache.lookup('p', vector(2))).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});

describe('what is compared semantically', () => {
  const base = {
    model: 'm',
    temperature: 0,
    max_tokens: 50,
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hello there' },
    ],
  };
  const partition = (body: Record<string, unknown>): string | undefined => semanticRequest('chat', body)?.partition;

  it('only the last user message: everything else is in the exact partition', () => {
    expect(semanticRequest('chat', base)?.text).toBe('hello there');
    const otherText = { ...base, messages: [base.messages[0], { role: 'user', content: 'something else entirely' }] };
    expect(partition(otherText)).toBe(partition(base));
    expect(partition({ ...base, stream: true, user: 'u1' })).toBe(partition(base));
    for (const changed of [
      { ...base, model: 'other' },
      { ...base, temperature: 0.5 },
      { ...base, max_tokens: 51 },
      { ...base, tools: [{ type: 'function', function: { name: 'f' } }] },
      { ...base, messages: [{ role: 'system', content: 'Be verbose.' }, base.messages[1]] },
      { ...base, messages: [{ role: 'user', content: 'earlier turn' }, ...base.messages] },
    ]) {
      expect(partition(changed)).not.toBe(partition(base));
    }
    expect(semanticRequest('completions', { model: 'm', prompt: 'complete me' })?.text).toBe('complete me');
  });

  it('skips requests whose last message is not text from the user', () => {
    expect(
      semanticRequest('chat', { ...base, messages: [...base.messages, { role: 'assistant', content: 'hi' }] }),
    ).toBeUndefined();
    const image = { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:,' } }] };
    expect(semanticRequest('chat', { ...base, messages: [image] })).toBeUndefined();
    expect(semanticRequest('completions', { model: 'm', prompt: ['a', 'b'] })).toBeUndefined();
    expect(semanticRequest('embeddings', { model: 'm', input: 'x' })).toBeUndefined();
  });
});

describe('TopicGuard (generated tiny embedder: planted word clusters only)', () => {
  it('matches the closest allowed topic and judges only the last user message', async () => {
    const guard = await TopicGuard.create(
      {
        billing: ['How do I pay my invoice?', 'refund for a billing charge'],
        weather: ['What is the weather tomorrow?'],
      },
      (texts) => tiny.embed(texts, 'query'),
    );
    const [invoice, soup] = await tiny.embed(
      ['how do I pay the invoice', 'What is the best recipe for tomato soup?'],
      'query',
    );
    const billing = guard.match(invoice as Float32Array, ['billing']);
    expect(billing.topic).toBe('billing');
    expect(billing.similarity).toBeGreaterThan(0.9);
    expect(guard.match(soup as Float32Array, []).similarity).toBeLessThan(0.5);
    expect(guard.match(invoice as Float32Array, ['weather']).topic).toBe('weather');
    expect(guard.match(invoice as Float32Array, ['weather']).similarity).toBeLessThan(billing.similarity);

    const messages = [
      { role: 'system', content: 'operator text' },
      { role: 'user', content: 'first question' },
      { role: 'assistant', content: 'an answer' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'second' },
          { type: 'text', text: 'question' },
        ],
      },
      { role: 'tool', content: 'tool output' },
    ];
    expect(lastUserText('chat', { messages })).toBe('second\nquestion');
    expect(lastUserText('completions', { prompt: 'p' })).toBe('p');
    expect(lastUserText('completions', { prompt: ['a', 'b'] })).toBe('a\nb');
    expect(lastUserText('completions', { prompt: [101, 102] })).toBe(NOT_TEXT);
    expect(lastUserText('chat', { messages: [{ role: 'system', content: 'x' }] })).toBeUndefined();
  });
});

describe('config and start-up', () => {
  it('rejects topic policies without topics, unknown topic names and a semantic cache without the exact cache', () => {
    expect(() => GovernanceConfig.parse({ guardrails: { default: { input: { topics: 'block' } } } })).toThrow(
      /lists no topic/,
    );
    expect(() =>
      GovernanceConfig.parse({
        guardrails: { topics: { a: ['x'] }, profiles: { p: { input: { allowedTopics: ['b'] } } } },
      }),
    ).toThrow(/allowedTopics names unknown topic/);
    expect(() => GovernanceConfig.parse({ cache: { semantic: { enabled: true } } })).toThrow(/needs cache.enabled/);
    const defaults = GovernanceConfig.parse({});
    expect(defaults.guardrails.default.input.topics).toBe('off');
    expect(defaults.cache.semantic).toMatchObject({ enabled: false, threshold: 0.95 });
  });

  it('takes the embedder from governance.embedder, else the router retrieval section, else the environment', () => {
    const none = GovernanceConfig.parse({}).embedder;
    expect(resolveEmbedderReference({ ...none, model: '/models/a' }, { embedder: '/models/b' }).model).toBe(
      '/models/a',
    );
    expect(resolveEmbedderReference(none, { embedder: '/models/b', offline: true })).toMatchObject({
      model: '/models/b',
      offline: true,
    });
    expect(resolveEmbedderReference(none, undefined, { SWITCHYARD_EMBEDDER: 'org/model' }).model).toBe('org/model');
    expect(resolveEmbedderReference(none, undefined, {}).model).toBe('Xenova/all-MiniLM-L6-v2');
    expect(() => resolveEmbedderReference(none, { embedder: null })).toThrow(/retrieval.embedder is null/);
  });

  it('fails start-up when topics are configured and the model is missing or broken', async () => {
    const topics = {
      guardrails: { topics: { billing: ['invoice'] }, default: { input: { topics: 'block' as const } } },
    };
    const missing = join(scratch, 'no-such-model');
    const config = GovernanceConfig.parse({
      enabled: true,
      keys: { enabled: false },
      ...topics,
      embedder: { model: missing },
    });
    const deps = { config, registry: new Registry(), pricing: new PricingCatalog(TEST_POOLS, TEST_ROUTES) };
    expect(() => new Governance(deps)).toThrow(
      /embedding model .* not available: missing .*no-such-model\/config.json/,
    );
    expect(() =>
      assertEmbedderFiles({ model: 'org/not-cached', offline: true, cacheDir: scratch, dtype: 'fp32' }),
    ).toThrow(/org\/not-cached/);

    // All files present but the ONNX graph is garbage: the synchronous check passes, create() fails with the cause.
    const broken = join(scratch, 'broken-model');
    mkdirSync(join(broken, 'onnx'), { recursive: true });
    for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json'])
      copyFileSync(join(TINY_EMBEDDER_PATH, file), join(broken, file));
    writeFileSync(join(broken, 'onnx', 'model.onnx'), 'not an onnx graph');
    const brokenConfig = GovernanceConfig.parse({
      enabled: true,
      keys: { enabled: false },
      ...topics,
      embedder: { model: broken, offline: true },
    });
    await expect(
      Governance.create({ ...deps, registry: new Registry(), config: brokenConfig, logDestination: new MemoryLog() }),
    ).rejects.toThrow(/Could not load model/);
  });
});

describe('Governance with the embedding features', () => {
  const chat = (content: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    model: 'llama-3.1-8b',
    temperature: 0,
    messages: [{ role: 'user', content }],
    ...extra,
  });

  it('fails closed on topics (503) and open on the semantic cache when the model cannot load', async () => {
    const log = new MemoryLog();
    const failing = (): Promise<Embedder> => Promise.reject(new Error('model exploded'));
    const topics = newGovernance(
      { guardrails: { topics: { billing: ['invoice'] }, default: { input: { topics: 'flag' } } } },
      failing,
      log,
    );
    await expect(
      topics.admit({ endpoint: 'chat', key: undefined, body: chat('hello'), requestId: 'r1' }),
    ).rejects.toMatchObject({
      status: 503,
      code: 'guardrail_unavailable',
      message: expect.stringContaining('model exploded'),
    });
    await topics.close();
    expect(log.lines.some((line) => String(line['msg']).includes('governance embedder failed to load'))).toBe(true);

    const cacheOnly = newGovernance(
      { cache: { enabled: true, semantic: { enabled: true } } },
      failing,
      new MemoryLog(),
    );
    const first = await cacheOnly.admit({ endpoint: 'chat', key: undefined, body: chat('hello'), requestId: 'r2' });
    expect(first.cache.result).toBe('miss');
    await cacheOnly.settle(first, { status: 200, cacheAnswer: { kind: 'body', body: { id: 'x', choices: [] } } });
    const again = await cacheOnly.admit({ endpoint: 'chat', key: undefined, body: chat('hello'), requestId: 'r3' });
    expect(again.cache.result).toBe('hit');
    await cacheOnly.close();
  });

  it('indexes answers at settle, serves semantic hits for free and logs the similarity and topic', async () => {
    const log = new MemoryLog();
    const governance = newGovernance(
      {
        cache: { enabled: true, semantic: { enabled: true, threshold: 0.95 } },
        guardrails: {
          topics: { billing: ['How do I pay my invoice?'] },
          default: { input: { topics: 'flag', topicThreshold: 0.5 } },
        },
      },
      tiny,
      log,
    );
    const first = await governance.admit({
      endpoint: 'chat',
      key: undefined,
      body: chat('How do I pay my invoice?'),
      requestId: 's1',
    });
    expect(first.cache.result).toBe('miss');
    expect(first.topic).toMatchObject({ topic: 'billing', onTopic: true });
    expect(first.semantic?.vector.length).toBe(tiny.dimensions);
    const answer = {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Pay online.' } }],
    };
    await governance.settle(first, {
      status: 200,
      served: { pool: 'gpu-pool', backendId: 'gpu-pool-0' },
      cacheAnswer: { kind: 'body', body: answer },
    });
    expect(governance.semantic?.entries).toBe(1);

    const near = await governance.admit({
      endpoint: 'chat',
      key: undefined,
      body: chat('how do I pay my invoice'),
      requestId: 's2',
    });
    expect(near.cache.result).toBe('semantic-hit');
    expect(near.headers['x-switchyard-cache']).toBe('semantic-hit');
    expect((await governance.settle(near, { status: 200 })).costUsd).toBe(0);
    // `x-switchyard-cache: exact` asks for the exact cache only.
    const exactOnly = await governance.admit({
      endpoint: 'chat',
      key: undefined,
      body: chat('how do I pay my invoice'),
      requestId: 's3',
      cacheControl: 'exact',
    });
    expect(exactOnly.cache.result).toBe('miss');
    await governance.release(exactOnly, new Error('not sent'));
    const offTopic = await governance.admit({
      endpoint: 'chat',
      key: undefined,
      body: chat('What is the weather tomorrow?'),
      requestId: 's4',
    });
    expect(offTopic.inputRules).toContain('off_topic');
    expect(offTopic.cache.result).toBe('miss');
    await governance.release(offTopic, new Error('not sent'));
    await governance.close();

    // Completions: a string prompt is judged; token ids cannot be, so a blocking policy refuses them.
    const strict = newGovernance(
      { guardrails: { topics: { billing: ['How do I pay my invoice?'] }, default: { input: { topics: 'block' } } } },
      tiny,
      new MemoryLog(),
    );
    const completion = await strict.admit({
      endpoint: 'completions',
      key: undefined,
      body: { model: 'llama-3.1-8b', prompt: 'How do I pay the invoice?' },
      requestId: 'c1',
    });
    expect(completion.topic?.onTopic).toBe(true);
    await strict.release(completion, new Error('not sent'));
    await expect(
      strict.admit({
        endpoint: 'completions',
        key: undefined,
        body: { model: 'llama-3.1-8b', prompt: [1, 2, 3] },
        requestId: 'c2',
      }),
    ).rejects.toMatchObject({
      status: 400,
      code: 'content_policy_violation',
      message: expect.stringContaining('not text'),
    });
    await expect(
      strict.admit({
        endpoint: 'completions',
        key: undefined,
        body: { model: 'llama-3.1-8b', prompt: 'What is the weather tomorrow?' },
        requestId: 'c3',
      }),
    ).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(
        /rule: off_topic\): the closest allowed topic is "billing" at similarity -?0\.\d{3}, below the threshold 0\.5/,
      ),
    });
    await strict.close();

    const hitLine = log.lines.find((line) => line['requestId'] === 's2');
    expect(hitLine).toMatchObject({ cache: 'semantic-hit', costUsd: 0, topic: 'billing' });
    expect(Number(hitLine?.['cacheSimilarity'])).toBeGreaterThanOrEqual(0.95);
    expect(log.lines.find((line) => line['requestId'] === 's4')).toMatchObject({ guardrails: ['off_topic'] });
  });
});
