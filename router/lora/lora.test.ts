// LoRA through the router, against simulated vLLM replicas and with the official `openai` SDK as the client: the
// embedded default serves its two example adapters by name; the router loads an adapter on the replica it picks once
// (not once per request), keeps an adapter's requests where it runs, reloads after a replica lost it, and turns a load
// that cannot succeed into a clear retryable error.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedDefaultConfig } from '../config/default.ts';
import { validateConfig } from '../config/load.ts';
import { startRouter, type RunningRouter } from '../server.ts';
import { DEFAULT_PROFILE } from '../scheduling/config.ts';
import { FAST_SCHEDULING, startReplicas, startTestRouter, vllmPool, type TestRouter } from '../testing/harness.ts';
import type { SimReplica } from '../../models/sim/index.ts';

const ask = (client: OpenAI, model: string, content = 'Write one SQL query.') =>
  client.chat.completions.create({ model, messages: [{ role: 'user', content }], max_tokens: 4 }).withResponse();

async function metricValue(baseURL: string, series: string): Promise<number> {
  const page = await (await fetch(baseURL.replace(/\/v1$/, '/metrics'))).text();
  const line = page.split('\n').find((candidate) => candidate.startsWith(series));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('the embedded default serves two example adapters', () => {
  let router: RunningRouter;
  let client: OpenAI;

  beforeAll(async () => {
    const environment = {
      SWITCHYARD_GOVERNANCE_DB: join(mkdtempSync(join(tmpdir(), 'switchyard-lora-')), 'governance.sqlite'),
    };
    const config = validateConfig(embeddedDefaultConfig(environment), 'default', environment);
    router = await startRouter(config, { host: '127.0.0.1', port: 0, processMetrics: false });
    // As a deployment would: wait for /ready, and let the SDK retry a 503 (late scrapes on a loaded machine read as
    // stale metrics, and an adapter has no hosted tier to spill to).
    for (let attempt = 0; attempt < 100 && (await fetch(`${router.url}/ready`)).status !== 200; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    client = new OpenAI({ baseURL: `${router.url}/v1`, apiKey: 'unused', maxRetries: 3, timeout: 30_000 });
  }, 60_000);
  afterAll(async () => {
    await router?.close();
  });

  it('lists both adapters with their base model as parent', async () => {
    const models = (await client.models.list()).data as unknown as Array<{ id: string; parent?: string }>;
    expect(models.filter((model) => model.parent !== undefined).map((model) => [model.id, model.parent])).toEqual([
      ['sql-lora', 'llama-3.1-8b'],
      ['support-lora', 'llama-3.1-8b'],
    ]);
  });

  it('calls each adapter by name through the official SDK; the one no replica had is loaded on demand', async () => {
    const sql = await ask(client, 'sql-lora');
    expect(sql.data.model).toBe('sql-lora');
    expect(sql.data.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(sql.response.headers.get('x-switchyard-backend')).toMatch(/^llama-8b-a10g-[01]$/);
    const support = await ask(client, 'support-lora', 'My order is late.');
    expect(support.data.model).toBe('support-lora');
    const url = `${router.url}/v1`;
    expect(await metricValue(url, 'switchyard_lora_loads_total{adapter="support-lora",outcome="loaded"}')).toBe(1);
    expect(await metricValue(url, 'switchyard_lora_loads_total{adapter="sql-lora"')).toBe(0);
    expect(await metricValue(url, 'switchyard_lora_requests_total{adapter="sql-lora"}')).toBe(1);
  }, 30_000);
});

describe('loading, affinity and eviction through the router', () => {
  let harness: TestRouter;
  let replicas: SimReplica[];
  const lora = { modules: [], maxLoras: 2, maxCpuLoras: 2, runtimeUpdating: true, loadMs: 200 };

  beforeAll(async () => {
    replicas = await startReplicas([
      { model: 'llama-3.1-8b', gpu: 'h100', lora },
      { model: 'llama-3.1-8b', gpu: 'h100', lora },
    ]);
    harness = await startTestRouter(
      {
        pools: [vllmPool('small', replicas)],
        models: [{ name: 'llama-3.1-8b', route: ['small'] }],
        lora: {
          adapters: [
            { name: 'fin-lora', base: 'llama-3.1-8b', path: 'sim://fin?rank=8' },
            { name: 'law-lora', base: 'llama-3.1-8b', path: 'sim://law?rank=8' },
            { name: 'broken-lora', base: 'llama-3.1-8b', path: '/no/such/adapter' },
          ],
        },
        // A generous staleness limit: on a loaded machine late scrapes would otherwise turn routing into a fallback.
        scheduling: {
          ...FAST_SCHEDULING,
          staleAfterMs: 30_000,
          scorers: [...DEFAULT_PROFILE.scorers, { type: 'lora-affinity', weight: 3 }],
        },
      },
      {},
      replicas,
    );
  });
  afterAll(async () => {
    await harness?.close();
  });

  const registeredOn = async (replica: SimReplica): Promise<string[]> => {
    const listing = (await (await fetch(`${replica.url}/v1/models`)).json()) as {
      data: Array<{ id: string; parent: string | null }>;
    };
    return listing.data.filter((card) => card.parent !== null).map((card) => card.id);
  };

  it('loads an adapter once for a burst of requests, not once per request', async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, index) => ask(harness.client, 'fin-lora', `question ${index}`)),
    );
    const backends = new Set(answers.map((answer) => answer.response.headers.get('x-switchyard-backend')));
    const loads = await metricValue(
      harness.baseURL,
      'switchyard_lora_loads_total{adapter="fin-lora",outcome="loaded"}',
    );
    expect(loads).toBe(backends.size);
    expect(loads).toBeLessThanOrEqual(2);
    for (const [index, replica] of replicas.entries()) {
      expect((await registeredOn(replica)).includes('fin-lora')).toBe(backends.has(`small-${index}`));
    }
  });

  it('keeps sending an adapter to the replica that runs it', async () => {
    const first = await ask(harness.client, 'law-lora', 'first');
    const home = first.response.headers.get('x-switchyard-backend');
    for (let index = 0; index < 5; index++) {
      const next = await ask(harness.client, 'law-lora', `follow-up ${index}`);
      expect(next.response.headers.get('x-switchyard-backend')).toBe(home);
    }
    expect(await metricValue(harness.baseURL, 'switchyard_lora_loads_total{adapter="law-lora",outcome="loaded"}')).toBe(
      1,
    );
  });

  it('reloads an adapter a replica lost (unloaded or restarted) and answers the request', async () => {
    const first = await ask(harness.client, 'law-lora', 'before');
    const home = first.response.headers.get('x-switchyard-backend')!;
    const replica = replicas[Number(home.split('-').at(-1))]!;
    const unloaded = await fetch(`${replica.url}/v1/unload_lora_adapter`, {
      method: 'POST',
      body: JSON.stringify({ lora_name: 'law-lora' }),
    });
    expect(unloaded.status).toBe(200);
    const after = await ask(harness.client, 'law-lora', 'after');
    expect(after.data.model).toBe('law-lora');
    expect(await metricValue(harness.baseURL, 'switchyard_lora_loads_total{adapter="law-lora",outcome="loaded"}')).toBe(
      2,
    );
  });

  it('answers 503 with a clear message when no replica can load the adapter', async () => {
    const error = await ask(harness.client, 'broken-lora').then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((error as InstanceType<typeof OpenAI.APIError>).message).toContain(
      'The adapter `broken-lora` could not be loaded (the model server answered 404).',
    );
  });

  it('does not route adapters that are not configured or discovered', async () => {
    await expect(ask(harness.client, 'nobody-lora')).rejects.toMatchObject({ status: 404 });
  });
});
