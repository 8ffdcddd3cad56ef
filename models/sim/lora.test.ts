// LoRA as vLLM serves it: adapters in /v1/models with `parent`, the dynamic load/unload endpoints (their success
// sentences and error shapes), the vllm:lora_requests_info gauge, and in the engine the max_loras slots per step and
// the disk-read cost of adapters outside the host cache.
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODELS } from '../catalog/models.ts';
import { GPUS } from '../catalog/gpus.ts';
import { createStepTimeModel } from '../step-time.ts';
import { VirtualClock } from './clock.ts';
import { SimEngine } from './engine.ts';
import { type SimReplica, startSimReplica } from './index.ts';
import { LoraManager, LoraOptions, adapterBytes, createLoraCostModel, parseLoraModule } from './lora.ts';
import { encode, pseudoText } from './tokenizer.ts';

const SQL_LORA = fileURLToPath(new URL('../fixtures/lora/sql-lora', import.meta.url));

describe('simulated vLLM with --enable-lora', () => {
  let replica: SimReplica;
  let client: OpenAI;
  const post = (path: string, body: unknown) =>
    fetch(`${replica.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    replica = await startSimReplica({
      model: 'llama-3.1-8b',
      gpu: 'h100',
      speed: 50,
      lora: { modules: [{ name: 'sql-lora', path: SQL_LORA }], maxLoras: 2, runtimeUpdating: true, loadMs: 300 },
    });
    client = new OpenAI({ baseURL: `${replica.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(async () => {
    await replica.close();
  });

  it('lists the base model with parent null and each adapter with its path as root and the base as parent', async () => {
    const models = await client.models.list();
    const cards = models.data as unknown as Array<{ id: string; root: string; parent: string | null }>;
    expect(cards.map((card) => [card.id, card.parent])).toEqual([
      ['llama-3.1-8b', null],
      ['sql-lora', 'llama-3.1-8b'],
    ]);
    expect(cards[1]?.root).toBe(SQL_LORA);
  });

  it('answers a request that names the adapter, through the official SDK', async () => {
    const completion = await client.chat.completions.create({
      model: 'sql-lora',
      messages: [{ role: 'user', content: 'List the tables.' }],
      max_tokens: 8,
    });
    expect(completion.model).toBe('sql-lora');
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('loads and unloads adapters at run time with vLLM’s answers and errors', async () => {
    const loaded = await post('/v1/load_lora_adapter', { lora_name: 'tmp-lora', lora_path: 'sim://tmp?rank=8' });
    expect(loaded.status).toBe(200);
    expect(await loaded.text()).toBe("Success: LoRA adapter 'tmp-lora' added successfully.");
    expect((await client.models.list()).data.map((model) => model.id)).toContain('tmp-lora');

    const again = await post('/v1/load_lora_adapter', { lora_name: 'tmp-lora', lora_path: 'sim://tmp?rank=8' });
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual({
      error: {
        message:
          "The lora adapter 'tmp-lora' has already been loaded. If you want to load the adapter in place, set 'load_inplace' to True.",
        type: 'InvalidUserInput',
        param: null,
        code: 400,
      },
    });
    const missing = await post('/v1/load_lora_adapter', { lora_name: 'x' });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toBe(
      "Both 'lora_name' and 'lora_path' must be provided.",
    );
    const noFolder = await post('/v1/load_lora_adapter', { lora_name: 'ghost', lora_path: '/nonexistent/adapter' });
    expect(noFolder.status).toBe(404);
    expect(((await noFolder.json()) as { error: { type: string; message: string } }).error).toMatchObject({
      type: 'NotFoundError',
      message: 'Loading lora ghost failed: No adapter found for /nonexistent/adapter',
    });
    const tooBig = await post('/v1/load_lora_adapter', { lora_name: 'big', lora_path: 'sim://big?rank=64' });
    expect(tooBig.status).toBe(400);
    expect(((await tooBig.json()) as { error: { message: string } }).error.message).toBe(
      'LoRA rank 64 is greater than max_lora_rank 16.',
    );

    const unloaded = await post('/v1/unload_lora_adapter', { lora_name: 'tmp-lora' });
    expect(unloaded.status).toBe(200);
    expect(await unloaded.text()).toBe("Success: LoRA adapter 'tmp-lora' removed successfully.");
    const gone = await post('/v1/unload_lora_adapter', { lora_name: 'tmp-lora' });
    expect(gone.status).toBe(404);
    expect(await gone.json()).toEqual({
      error: { message: "The lora adapter 'tmp-lora' cannot be found.", type: 'NotFoundError', param: null, code: 404 },
    });
    await expect(
      client.chat.completions.create({ model: 'tmp-lora', messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({
      status: 404,
    });
  });

  it('exports vllm:lora_requests_info with max_lora and the running / waiting adapters', async () => {
    const stream = await client.chat.completions.create({
      model: 'sql-lora',
      messages: [{ role: 'user', content: 'Write a long query.' }],
      max_tokens: 400,
      stream: true,
    });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    const page = await (await fetch(`${replica.url}/metrics`)).text();
    const lines = page.split('\n').filter((line) => line.startsWith('vllm:lora_requests_info{'));
    expect(lines.length).toBeGreaterThan(0);
    const newest = lines
      .map((line) => ({ line, value: Number(line.split(' ').at(-1)) }))
      .sort((a, b) => b.value - a.value)[0]!;
    expect(newest.line).toContain('max_lora="2"');
    expect(newest.line).toContain('running_lora_adapters="sql-lora"');
    expect(newest.value).toBeGreaterThan(Date.now() / 1000 - 60);
    stream.controller.abort();
  });
});

describe('simulated vLLM without runtime LoRA updating', () => {
  it('has no load endpoint (FastAPI 404), as vLLM without VLLM_ALLOW_RUNTIME_LORA_UPDATING', async () => {
    const replica = await startSimReplica({ model: 'llama-3.1-8b', speed: 50, lora: { modules: [] } });
    try {
      const response = await fetch(`${replica.url}/v1/load_lora_adapter`, { method: 'POST', body: '{}' });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ detail: 'Not Found' });
    } finally {
      await replica.close();
    }
  });
});

describe('LoRA in the engine', () => {
  const model = MODELS['llama-3.1-8b'];
  const stepTime = createStepTimeModel({ model, gpu: GPUS.h100 });
  const cost = createLoraCostModel(model, GPUS.h100, 1);

  function engineWith(options: Parameters<typeof LoraOptions.parse>[0]) {
    const clock = new VirtualClock();
    const lora = new LoraManager(LoraOptions.parse(options), 'llama-3.1-8b', cost);
    const engine = new SimEngine({
      clock,
      stepTime,
      totalBlocks: 20_000,
      maxNumSeqs: 256,
      maxNumBatchedTokens: 8192,
      lora,
    });
    return { clock, lora, engine };
  }
  function run(engine: SimEngine, lora: string | undefined, seed: number, outputTokens = 20) {
    const result: { first?: number; done?: number } = {};
    engine.submit(
      { id: `r${seed}`, promptTokens: encode(pseudoText(seed, 200)), outputTokens, ...(lora ? { lora } : {}) },
      {
        onToken: (index, atMs) => {
          if (index === 0) result.first = atMs;
        },
        onFinish: (_cause, timings) => {
          result.done = timings.finishedMs;
        },
      },
    );
    return result;
  }

  it('never runs more distinct adapters in one step than max_loras: the second adapter waits for a free slot', () => {
    const { clock, lora, engine } = engineWith({ maxLoras: 1, maxCpuLoras: 2, loadMs: 0 });
    lora.register('a', 'sim://a');
    lora.register('b', 'sim://b');
    const first = run(engine, 'a', 1);
    const second = run(engine, 'b', 2);
    const base = run(engine, undefined, 3);
    expect(engine.stats().lora).toEqual({ running: { a: 1 }, waiting: { b: 1 }, diskLoads: 2 });
    clock.advance(10_000);
    expect(first.done).toBeDefined();
    expect(second.first).toBeGreaterThanOrEqual(first.done!);
    // The base model needs no slot: it ran alongside adapter a.
    expect(base.first).toBeLessThan(first.done!);
  });

  it('lets max_loras adapters share a step', () => {
    const { clock, lora, engine } = engineWith({ maxLoras: 2, loadMs: 0 });
    lora.register('a', 'sim://a');
    lora.register('b', 'sim://b');
    const first = run(engine, 'a', 1);
    const second = run(engine, 'b', 2);
    clock.advance(10_000);
    expect(second.first).toBeLessThan(first.done!);
  });

  it('reads an adapter outside the host cache from disk again: the step that needs it stalls by loadMs', () => {
    const { clock, lora, engine } = engineWith({ maxLoras: 1, maxCpuLoras: 1, loadMs: 300 });
    lora.register('a', 'sim://a');
    lora.register('b', 'sim://b'); // evicts a from the host cache (capacity 1)
    expect(lora.diskLoads).toBe(2);
    const start = clock.now();
    const first = run(engine, 'a', 1, 1);
    clock.advance(5_000);
    const cold = first.first! - start;
    const again = run(engine, 'a', 2, 1);
    const warmStart = clock.now();
    clock.advance(5_000);
    const warm = again.first! - warmStart;
    expect(lora.diskLoads).toBe(3);
    expect(cold - warm).toBeGreaterThan(290);
    expect(cold - warm).toBeLessThan(320);
  });

  it('costs a few ms per step with adapters (Punica’s per-token overhead plus adapter weight traffic)', () => {
    expect(cost.perStepMs).toBeCloseTo(2, 5);
    // Rank-16 adapter on all seven projections of Llama 3.1 8B: ~84 MB in bf16.
    expect(adapterBytes(model, 16) / 1e6).toBeGreaterThan(80);
    expect(adapterBytes(model, 16) / 1e6).toBeLessThan(90);
    expect(cost.perAdapterMs(16)).toBeLessThan(0.1);
  });

  it('parses --lora-modules in both of vLLM’s forms', () => {
    expect(parseLoraModule('sql=/adapters/sql')).toEqual({ name: 'sql', path: '/adapters/sql' });
    expect(parseLoraModule('{"name":"sql","path":"/a","base_model_name":"llama"}')).toEqual({
      name: 'sql',
      path: '/a',
      base: 'llama',
    });
    expect(() => parseLoraModule('sql')).toThrow(/name=path/);
  });
});

describe('switchyard sim LoRA flags', () => {
  it('map --enable-lora, --lora-modules, --max-loras, --max-lora-rank, --max-cpu-loras, --lora-load-ms and runtime updating', async () => {
    const { replicaOptionsFromCli } = await import('./cli.ts');
    const base = {
      model: 'llama-3.1-8b',
      gpu: 'h100',
      replicas: '1',
      port: '0',
      host: '127.0.0.1',
      dtype: 'bf16',
      speed: '1',
      profile: 'vllm',
      mode: 'generate',
    };
    const options = replicaOptionsFromCli(
      {
        ...base,
        enableLora: true,
        loraModules: ['sql=/a/sql', '{"name":"chat","path":"/a/chat"}'],
        maxLoras: '4',
        maxLoraRank: '32',
        maxCpuLoras: '8',
        loraLoadMs: '150',
        allowRuntimeLoraUpdating: true,
      },
      0,
    );
    expect(options.lora).toEqual({
      modules: [
        { name: 'sql', path: '/a/sql' },
        { name: 'chat', path: '/a/chat' },
      ],
      runtimeUpdating: true,
      maxLoras: 4,
      maxLoraRank: 32,
      maxCpuLoras: 8,
      loadMs: 150,
    });
    expect(replicaOptionsFromCli(base, 0).lora).toBeUndefined();
  });
});
