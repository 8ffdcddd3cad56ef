// Failover with the simulator's fault injection: 5xx, 429, hangs, dropped connections and crashes are retried on
// another replica or failed over along the route; a down pool falls back to the hosted tier; streams that break
// after bytes reached the client either continue elsewhere or end with an error event + [DONE].
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimReplica, SimReplicaOptions } from '../models/sim/index.ts';
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

/** Router over [faulty, healthy] replicas of one pool, plus a hosted fallback pool. */
async function setup(
  faulty: SimReplicaOptions,
  extra: Partial<RouterConfigInput> = {},
  healthyCount = 1,
): Promise<{ harness: TestRouter; replicas: SimReplica[] }> {
  const replicas = await startReplicas([
    faulty,
    ...Array.from({ length: healthyCount }, () => ({ model: 'llama-3.1-8b' })),
    HOSTED,
  ]);
  const hosted = replicas.at(-1)!;
  const harness = await startTestRouter(
    {
      pools: [
        vllmPool('pool', replicas.slice(0, -1)),
        { name: 'hosted', kind: 'openai', baseURL: `${hosted.url}/v1`, model: 'gpt-4o-mini' },
      ],
      models: [{ name: 'llama-3.1-8b', route: ['pool', 'hosted'] }],
      scheduling: FAST_SCHEDULING,
      retries: { initialDelayMs: 5, maxDelayMs: 20 },
      timeouts: { ttftMs: 1_000, totalMs: 15_000 },
      ...extra,
    },
    {},
    replicas,
  );
  open.push(harness);
  return { harness, replicas };
}

async function chat(harness: TestRouter, max = 4) {
  return harness.client.chat.completions
    .create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hello' }], max_tokens: max })
    .withResponse();
}

async function streamText(harness: TestRouter, max: number): Promise<{ text: string; backend: string | null }> {
  const { data, response } = await harness.client.chat.completions
    .create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hello' }], max_tokens: max, stream: true })
    .withResponse();
  let text = '';
  for await (const chunk of data) text += chunk.choices[0]?.delta.content ?? '';
  return { text, backend: response.headers.get('x-switchyard-backend') };
}

describe('failures before the first byte are retried on another backend', () => {
  it.each([
    ['500', { errorRate: 1, errorStatuses: [500 as const] }],
    ['503', { errorRate: 1, errorStatuses: [503 as const], retryAfterSeconds: 0 }],
    ['429 with retry-after', { errorRate: 1, errorStatuses: [429 as const], retryAfterSeconds: 30 }],
  ])('%s', async (_name, faults) => {
    const { harness } = await setup({ model: 'llama-3.1-8b', faults });
    const reasons = new Set<string>();
    // The picker breaks ties at random: send until one request has met the faulty replica first (at most 24).
    for (let index = 0; index < 24 && ![...reasons].some((reason) => reason.includes('retry')); index++) {
      const { data, response } = await chat(harness);
      expect(data.choices[0]?.message.content).toBeTruthy();
      expect(response.headers.get('x-switchyard-backend')).toBe('pool-1');
      reasons.add(response.headers.get('x-switchyard-route') ?? '');
    }
    // At least one request hit the faulty replica first and was retried within the pool.
    expect([...reasons].some((reason) => reason.includes('retry'))).toBe(true);
  });

  it('a hung replica (no first token) times out and the stream moves on', async () => {
    const { harness } = await setup({ model: 'llama-3.1-8b', faults: { hangAfterTokens: 0 } });
    for (let index = 0; index < 3; index++) {
      const result = await streamText(harness, 5);
      expect(result.text.length).toBeGreaterThan(0);
      expect(result.backend).toBe('pool-1');
    }
  });

  it('a hung non-streamed request is bounded per attempt and retried', async () => {
    const { harness } = await setup({ model: 'llama-3.1-8b', faults: { hangAfterTokens: 0 } });
    for (let index = 0; index < 2; index++) {
      const { response } = await chat(harness);
      expect(response.headers.get('x-switchyard-backend')).toBe('pool-1');
    }
  });

  it('a crashed replica is routed around', async () => {
    const { harness } = await setup({ model: 'llama-3.1-8b', faults: { crashAfterRequests: 1 } });
    for (let index = 0; index < 4; index++) {
      const { response } = await chat(harness);
      expect(response.headers.get('x-switchyard-backend')).toBe('pool-1');
    }
  });

  it('falls back to the hosted tier when the whole pool is down', async () => {
    const { harness, replicas } = await setup({ model: 'llama-3.1-8b' }, {}, 0);
    await replicas[0]!.close();
    const { data, response } = await chat(harness);
    expect(data.choices[0]?.message.content).toBeTruthy();
    expect(response.headers.get('x-switchyard-backend')).toBe('hosted');
    expect(response.headers.get('x-switchyard-route')).toMatch(/fallback/);
  });

  it('opens the circuit of a failing replica', async () => {
    const { harness } = await setup(
      { model: 'llama-3.1-8b', faults: { errorRate: 1, errorStatuses: [500] } },
      { circuitBreaker: { consecutiveFailures: 2, cooldownMs: 60_000 } },
    );
    // The picker breaks ties at random, so how many requests try pool-0 first varies: send until its circuit opens
    // (two failures), at most 40 requests; every request still succeeds on pool-1.
    let metrics = '';
    for (
      let index = 0;
      index < 40 && !metrics.includes('switchyard_backend_circuit_state{backend="pool-0",pool="pool"} 2');
      index++
    ) {
      await chat(harness);
      metrics = await (await fetch(`${harness.router.url}/metrics`)).text();
    }
    expect(metrics).toContain('switchyard_backend_circuit_state{backend="pool-0",pool="pool"} 2');
    expect(metrics).toContain('switchyard_backend_circuit_state{backend="pool-1",pool="pool"} 0');
  });

  it('gives up with a typed error when every backend fails', async () => {
    const replicas = await startReplicas([{ model: 'llama-3.1-8b', faults: { errorRate: 1, errorStatuses: [500] } }]);
    const harness = await startTestRouter(
      {
        pools: [vllmPool('pool', replicas)],
        models: [{ name: 'llama-3.1-8b', route: ['pool'] }],
        scheduling: FAST_SCHEDULING,
        retries: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5 },
      },
      {},
      replicas,
    );
    open.push(harness);
    const error = await chat(harness).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    const stats = await replicas[0]!.stats();
    expect(stats.requestsFinished + stats.requestsAborted).toBe(0);
  });
});

describe('failures after the first byte', () => {
  it('continues a dropped stream on another backend', async () => {
    const { harness } = await setup({ model: 'llama-3.1-8b', faults: { dropAfterTokens: 3 } }, {}, 1);
    const results = [];
    for (let index = 0; index < 3; index++) results.push(await streamText(harness, 12));
    for (const result of results) expect(result.text.split(/\s+/).filter(Boolean).length).toBeGreaterThanOrEqual(8);
    const metrics = await (await fetch(`${harness.router.url}/metrics`)).text();
    expect(metrics).toMatch(/switchyard_stream_failures_total\{action="continued"\} [1-9]/);
  });

  it('ends a dropped stream with an error event and [DONE] when configured to', async () => {
    const { harness } = await setup(
      { model: 'llama-3.1-8b', faults: { dropAfterTokens: 2 } },
      { streaming: { onMidStreamFailure: 'error' } },
      0,
    );
    const response = await fetch(`${harness.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'llama-3.1-8b',
        messages: [{ role: 'user', content: 'x' }],
        stream: true,
        max_tokens: 9,
      }),
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toMatch(/data: \{"error":\{"message":"[^"]+","type":"upstream_error"/);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    // The SDK surfaces the error event as an APIError instead of a silently truncated answer.
    const stream = await harness.client.chat.completions.create({
      model: 'llama-3.1-8b',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
      max_tokens: 9,
    });
    await expect(
      (async () => {
        for await (const _chunk of stream) void _chunk;
      })(),
    ).rejects.toBeInstanceOf(OpenAI.APIError);
  });

  it('aborts the upstream request when the client disconnects', async () => {
    const replicas = await startReplicas([{ model: 'llama-3.1-8b', speed: 1 }]);
    const harness = await startTestRouter(
      {
        pools: [vllmPool('pool', replicas, { servedModel: 'llama-3.1-8b' })],
        models: [{ name: 'm', route: ['pool'] }],
        scheduling: FAST_SCHEDULING,
      },
      {},
      replicas,
    );
    open.push(harness);
    const controller = new AbortController();
    const stream = await harness.client.chat.completions.create(
      { model: 'm', messages: [{ role: 'user', content: 'long story' }], stream: true, max_tokens: 4000 },
      { signal: controller.signal },
    );
    let chunks = 0;
    try {
      for await (const _chunk of stream) {
        if (++chunks === 2) controller.abort();
      }
    } catch {
      // The SDK may end the iteration or throw on abort; either way the connection is gone.
    }
    expect(chunks).toBeLessThan(10);
    const deadline = Date.now() + 3_000;
    let stats = await replicas[0]!.stats();
    while (stats.running + stats.waiting > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      stats = await replicas[0]!.stats();
    }
    expect(stats.running + stats.waiting).toBe(0);
    expect(stats.requestsAborted).toBe(1);
  });
});
