// Fault injection by header and by config, including a real process crash in separate-process mode.
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { faultConfigFromSpec, parseFaultSpec } from './faults.ts';
import { type SimReplica, startSimReplica } from './index.ts';

const replicas: SimReplica[] = [];
async function start(options: Partial<Parameters<typeof startSimReplica>[0]> = {}): Promise<SimReplica> {
  const replica = await startSimReplica({ model: 'llama-3.1-8b', gpu: 'h100', speed: 100, ...options });
  replicas.push(replica);
  return replica;
}
afterEach(async () => {
  await Promise.all(replicas.splice(0).map((replica) => replica.close()));
});

const body = (extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ messages: [{ role: 'user', content: 'hello' }], max_tokens: 20, ignore_eos: true, ...extra });

async function post(
  replica: SimReplica,
  fault: string | undefined,
  extra: Record<string, unknown> = {},
  signal?: AbortSignal,
): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (fault !== undefined) headers['x-sim-fault'] = fault;
  const init: RequestInit = { method: 'POST', headers, body: body(extra) };
  if (signal) init.signal = signal;
  return fetch(`${replica.url}/v1/chat/completions`, init);
}

/** Read SSE data lines until the stream ends, errors, or `ms` pass. */
async function readEvents(
  response: Response,
  ms: number,
): Promise<{ events: string[]; ended: 'done' | 'error' | 'timeout' }> {
  const events: string[] = [];
  const reader = response.body?.getReader();
  if (!reader) return { events, ended: 'error' };
  const decoder = new TextDecoder();
  let buffer = '';
  const deadline = Date.now() + ms;
  try {
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) return { events, ended: 'timeout' };
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), remaining);
      });
      const next = await Promise.race([reader.read(), timeout]);
      clearTimeout(timer);
      if (next === 'timeout') {
        void reader.cancel();
        return { events, ended: 'timeout' };
      }
      if (next.done) return { events, ended: 'done' };
      buffer += decoder.decode(next.value, { stream: true });
      const parts = buffer.split('\n\n');
      buffer = parts.pop() ?? '';
      events.push(...parts.map((part) => part.replace(/^data: /, '')));
    }
  } catch {
    return { events, ended: 'error' };
  }
}

describe('fault header syntax', () => {
  it('parses every item', () => {
    expect(parseFaultSpec('error=429; retry-after=3').request.error).toEqual({ status: 429, retryAfterSeconds: 3 });
    expect(parseFaultSpec('latency=250,hang-after=4,drop-after=2,crash-after=7')).toEqual({
      request: { latencyMs: 250, hangAfterTokens: 4, dropAfterTokens: 2, crashAfterTokens: 7 },
    });
    expect(parseFaultSpec('rate=0.5;error=503').rate).toBe(0.5);
    expect(faultConfigFromSpec('rate=0.2;error=503;crash-requests=5;latency=10')).toEqual({
      addedLatencyMs: 10,
      crashAfterRequests: 5,
      errorRate: 0.2,
      errorStatuses: [503],
      retryAfterSeconds: 1,
    });
    expect(() => parseFaultSpec('error=418')).toThrow(/429, 500 or 503/);
    expect(() => parseFaultSpec('latency=-1')).toThrow(/non-negative/);
  });
});

describe('fault injection', () => {
  it('error=429 answers 429 with Retry-After, and the SDK sees a RateLimitError', async () => {
    const replica = await start();
    const response = await post(replica, 'error=429;retry-after=2');
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('2');
    const json = (await response.json()) as { error: { code: number } };
    expect(json.error.code).toBe(429);
    const client = new OpenAI({
      baseURL: `${replica.url}/v1`,
      apiKey: 'x',
      maxRetries: 0,
      defaultHeaders: { 'x-sim-fault': 'error=429' },
    });
    await expect(
      client.chat.completions.create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    expect((await post(replica, 'error=500')).status).toBe(500);
    expect((await post(replica, 'error=503')).status).toBe(503);
  });

  it('config error rate: every request fails at rate 1, none at rate 0', async () => {
    const failing = await start({ faults: { errorRate: 1, errorStatuses: [503] } });
    const statuses = await Promise.all([1, 2, 3].map(async () => (await post(failing, undefined)).status));
    expect(statuses).toEqual([503, 503, 503]);
    const healthy = await start({ faults: { errorRate: 0 } });
    expect((await post(healthy, undefined)).status).toBe(200);
  });

  it('faults can be switched at run time (setFaults and PUT /sim/faults)', async () => {
    const replica = await start();
    expect((await post(replica, undefined)).status).toBe(200);
    await replica.setFaults({ errorRate: 1, errorStatuses: [503] });
    expect((await post(replica, undefined)).status).toBe(503);
    const put = await fetch(`${replica.url}/sim/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(put.status).toBe(200);
    expect((await post(replica, undefined)).status).toBe(200);
    const bad = await fetch(`${replica.url}/sim/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{"errorRate": 7}',
    });
    expect(bad.status).toBe(400);
  });

  it('latency adds simulated time before the first token', async () => {
    const replica = await start();
    const timed = async (fault: string | undefined): Promise<number> => {
      const started = performance.now();
      const response = await post(replica, fault, { max_tokens: 2 });
      await response.text();
      return performance.now() - started;
    };
    await timed(undefined);
    const plain = await timed(undefined);
    const delayed = await timed('latency=30000'); // 300 ms real at speed 100
    expect(delayed).toBeGreaterThan(plain + 150);
  });

  it('hang-after stops the stream mid-way without finishing', async () => {
    const replica = await start();
    const controller = new AbortController();
    const response = await post(replica, 'hang-after=3', { stream: true }, controller.signal);
    const { events, ended } = await readEvents(response, 1000);
    controller.abort();
    expect(ended).toBe('timeout');
    expect(events).toHaveLength(4); // role chunk + 3 tokens
    expect(events).not.toContain('[DONE]');
  });

  it('drop-after cuts the connection mid-stream', async () => {
    const replica = await start();
    const response = await post(replica, 'drop-after=2', { stream: true });
    const { events, ended } = await readEvents(response, 3000);
    expect(ended).not.toBe('timeout');
    expect(events).not.toContain('[DONE]');
    expect(events.length).toBeLessThanOrEqual(3);
    expect((await post(replica, undefined)).status).toBe(200);
  });

  it('slow start: /health and the API answer 503 while loading, then 200', async () => {
    const replica = await start({ loadingMs: 30_000 }); // 300 ms real
    expect((await fetch(`${replica.url}/health`)).status).toBe(503);
    expect((await post(replica, undefined)).status).toBe(503);
    let status = 0;
    for (let attempt = 0; attempt < 100 && status !== 200; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = (await fetch(`${replica.url}/health`)).status;
    }
    expect(status).toBe(200);
    expect((await post(replica, undefined)).status).toBe(200);
  });

  it('crash in-process closes the server abruptly', async () => {
    const replica = await start();
    const response = await post(replica, 'crash-after=2', { stream: true });
    const { ended } = await readEvents(response, 3000);
    expect(ended).not.toBe('timeout');
    await replica.stopped;
    await expect(fetch(`${replica.url}/health`)).rejects.toThrow();
  });

  it('crash in separate-process mode kills the process', async () => {
    const replica = await start({ isolation: 'process' });
    expect((await fetch(`${replica.url}/health`)).status).toBe(200);
    await replica.setFaults({ errorRate: 1, errorStatuses: [429] });
    expect((await post(replica, undefined)).status).toBe(429);
    await replica.setFaults({});
    expect((await replica.stats()).requestsFinished).toBe(0);
    await expect(post(replica, 'crash')).rejects.toThrow();
    await replica.stopped;
    await expect(fetch(`${replica.url}/health`)).rejects.toThrow();
  }, 30_000);
});
