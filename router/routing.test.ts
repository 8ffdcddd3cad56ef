// Route decisions end to end: spill-over to the hosted tier when the pool is saturated or would miss the TTFT SLO,
// escalation of non-streamed answers that fail a quality check, and prefix affinity through the real scheduler.
import { afterEach, describe, expect, it } from 'vitest';
import type { SimReplicaOptions } from '../models/sim/index.ts';
import type { RouterConfigInput } from './config/schema.ts';
import { FAST_SCHEDULING, startReplicas, startTestRouter, vllmPool, type TestRouter } from './testing/harness.ts';

const open: TestRouter[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((harness) => harness.close()));
});

const HOSTED: SimReplicaOptions = {
  model: 'gpt-4o-mini',
  profile: 'hosted',
  hosted: { ttftMs: 5, msPerToken: 1, models: ['gpt-4o-mini'] },
};

async function setup(
  pool: readonly SimReplicaOptions[],
  model: Record<string, unknown>,
  extra: Partial<RouterConfigInput> = {},
): Promise<TestRouter> {
  const replicas = await startReplicas([...pool, HOSTED]);
  const hosted = replicas.at(-1)!;
  const harness = await startTestRouter(
    {
      pools: [
        vllmPool('pool', replicas.slice(0, -1)),
        { name: 'hosted', kind: 'openai', baseURL: `${hosted.url}/v1`, model: 'gpt-4o-mini' },
      ],
      models: [{ name: 'llama-3.1-8b', route: ['pool', 'hosted'], ...model }],
      scheduling: FAST_SCHEDULING,
      ...extra,
    },
    {},
    replicas,
  );
  open.push(harness);
  return harness;
}

async function chat(harness: TestRouter, body: Record<string, unknown> = {}) {
  return harness.client.chat.completions
    .create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hello' }], max_tokens: 3, ...body })
    .withResponse();
}

describe('spill-over', () => {
  it('sends a request to the hosted tier when the predicted TTFT exceeds the SLO', async () => {
    const harness = await setup([{ model: 'llama-3.1-8b' }], { sloTtftMs: 1 });
    const { response } = await chat(harness);
    expect(response.headers.get('x-switchyard-backend')).toBe('hosted');
    expect(response.headers.get('x-switchyard-route')).toBe('primary,spillover');
    const metrics = await (await fetch(`${harness.router.url}/metrics`)).text();
    expect(metrics).toMatch(/switchyard_spillover_total\{[^}]*from_pool="pool"[^}]*to_pool="hosted"[^}]*\} 1/);
  });

  it('stays on the pool when the SLO is met', async () => {
    const harness = await setup([{ model: 'llama-3.1-8b' }], { sloTtftMs: 60_000 });
    const { response } = await chat(harness);
    expect(response.headers.get('x-switchyard-backend')).toBe('pool-0');
  });

  it('spills when every replica is saturated, and returns when load drops', async () => {
    const harness = await setup(
      [{ model: 'llama-3.1-8b', speed: 1 }],
      {},
      {
        scheduling: {
          ...FAST_SCHEDULING,
          filters: ['healthy', 'serves-model', 'circuit-closed', { type: 'not-saturated', maxInFlightRequests: 1 }],
        },
      },
    );
    const { data: stream, response: first } = await harness.client.chat.completions
      .create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'long' }], max_tokens: 2000, stream: true })
      .withResponse();
    expect(first.headers.get('x-switchyard-backend')).toBe('pool-0');
    const { response: second } = await chat(harness);
    expect(second.headers.get('x-switchyard-backend')).toBe('hosted');
    expect(second.headers.get('x-switchyard-route')).toContain('spillover');
    stream.controller.abort();
    const deadline = Date.now() + 3_000;
    let backend = '';
    while (Date.now() < deadline) {
      const { response } = await chat(harness);
      backend = response.headers.get('x-switchyard-backend') ?? '';
      if (backend === 'pool-0') break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(backend).toBe('pool-0');
  });
});

describe('escalation on quality checks', () => {
  it('moves a length-truncated answer (caller set no limit) to the next tier', async () => {
    const harness = await setup([{ model: 'llama-3.1-8b', maxModelLen: 48 }], {});
    const { data, response } = await chat(harness, { max_tokens: undefined });
    expect(response.headers.get('x-switchyard-backend')).toBe('hosted');
    expect(response.headers.get('x-switchyard-route')).toBe('primary,escalation');
    expect(data.choices[0]?.message.content).toBeTruthy();
  });

  it('keeps a truncated answer when the caller set the limit', async () => {
    const harness = await setup([{ model: 'llama-3.1-8b', maxModelLen: 48 }], {});
    const { data, response } = await chat(harness, { max_tokens: 4 });
    expect(response.headers.get('x-switchyard-backend')).toBe('pool-0');
    expect(data.choices[0]?.finish_reason).toBe('length');
  });

  it('does not escalate when the model turns escalation off', async () => {
    const harness = await setup([{ model: 'llama-3.1-8b', maxModelLen: 48 }], { escalate: false });
    const { response } = await chat(harness, { max_tokens: undefined });
    expect(response.headers.get('x-switchyard-backend')).toBe('pool-0');
  });
});

describe('stale metrics', () => {
  it('fail closed, but a replica that answered recently is queued on rather than the request refused', async () => {
    const replicas = await startReplicas([{ model: 'llama-3.1-8b' }]);
    const harness = await startTestRouter(
      {
        pools: [vllmPool('pool', replicas)],
        models: [{ name: 'llama-3.1-8b', route: ['pool'] }],
        scheduling: { scrapeIntervalMs: 20, staleAfterMs: 500 },
      },
      {},
      replicas,
    );
    open.push(harness);
    // On a busy host a scrape can be late: wait for one fresh-metrics success first.
    const deadline = Date.now() + 5_000;
    let route = '';
    while (route !== 'primary' && Date.now() < deadline) {
      route = (await chat(harness).catch(() => null))?.response.headers.get('x-switchyard-route') ?? '';
    }
    expect(route).toBe('primary');
    harness.router.runtime.scraper.stop();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const { response } = await chat(harness);
    expect(response.headers.get('x-switchyard-backend')).toBe('pool-0');
    expect(response.headers.get('x-switchyard-route')).toBe('primary,queued');
    const ready = (await (await fetch(`${harness.router.url}/ready`)).json()) as { status: string };
    expect(ready.status).toBe('not_ready');
  });
});

describe('replicas registered at run time (deploy/)', () => {
  it('routes to a registered replica and stops once it is drained', async () => {
    const [replica, hosted] = await startReplicas([{ model: 'llama-3.1-8b' }, HOSTED]);
    const harness = await startTestRouter(
      {
        pools: [
          { name: 'pool', kind: 'vllm', model: 'llama-3.1-8b', gpu: 'h100' },
          { name: 'hosted', kind: 'openai', baseURL: `${hosted!.url}/v1`, model: 'gpt-4o-mini' },
        ],
        models: [{ name: 'llama-3.1-8b', route: ['pool', 'hosted'] }],
        scheduling: FAST_SCHEDULING,
      },
      {},
      [replica!, hosted!],
    );
    open.push(harness);
    expect((await chat(harness)).response.headers.get('x-switchyard-backend')).toBe('hosted');
    harness.router.runtime.pools.register({
      replicaId: 'r1',
      pool: 'pool',
      model: 'llama-3.1-8b',
      url: replica!.url,
      gpuIds: ['0'],
    });
    const deadline = Date.now() + 3_000;
    let backend = '';
    while (Date.now() < deadline && backend !== 'r1') {
      backend = (await chat(harness)).response.headers.get('x-switchyard-backend') ?? '';
    }
    expect(backend).toBe('r1');
    expect(harness.router.runtime.pools.read('pool').requestsPerSecond).toBeGreaterThan(0);
    await harness.router.runtime.pools.drain('r1', { timeoutMs: 1_000 });
    expect((await chat(harness)).response.headers.get('x-switchyard-backend')).toBe('hosted');
  });
});

describe('scheduling through the router', () => {
  it('sends a repeated long system prompt to the same replica (prefix affinity)', async () => {
    const harness = await setup([{ model: 'llama-3.1-8b' }, { model: 'llama-3.1-8b' }, { model: 'llama-3.1-8b' }], {});
    const system = 'You are a meticulous assistant for the Switchyard project. '.repeat(40);
    const backends = new Set<string>();
    for (let index = 0; index < 6; index++) {
      const { response } = await chat(harness, {
        messages: [
          { role: 'system', content: system },
          { role: 'user', content: `question ${index}` },
        ],
      });
      backends.add(response.headers.get('x-switchyard-backend') ?? '');
    }
    expect(backends.size).toBe(1);
  });
});
