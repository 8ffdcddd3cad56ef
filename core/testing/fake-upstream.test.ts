// The test kit's fake upstream against the real openai SDK: JSON and SSE answers, scripted replies, and each fault
// (status, malformed body, mid-stream drop, delays) surfacing to a client the way a real upstream's would.
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';

const upstreams: FakeUpstream[] = [];
afterEach(async () => {
  await Promise.all(upstreams.splice(0).map((upstream) => upstream.close()));
});

async function start(
  options: Parameters<typeof startFakeUpstream>[0] = {},
): Promise<{ upstream: FakeUpstream; client: OpenAI }> {
  const upstream = await startFakeUpstream(options);
  upstreams.push(upstream);
  return { upstream, client: new OpenAI({ baseURL: upstream.baseURL, apiKey: 'unused', maxRetries: 0 }) };
}

const ask = { model: 'm', messages: [{ role: 'user' as const, content: 'one two three' }] };

describe('fake upstream', () => {
  it('answers JSON and SSE with scripted chunks and usage when asked', async () => {
    const { upstream, client } = await start({ chunks: ['Hel', 'lo'] });
    const whole = await client.chat.completions.create(ask);
    expect(whole.choices[0]?.message.content).toBe('Hello');
    expect(whole.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 2 });
    const stream = await client.chat.completions.create({
      ...ask,
      stream: true,
      stream_options: { include_usage: true },
    });
    const pieces: string[] = [];
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      pieces.push(chunk.choices[0]?.delta.content ?? '');
      usage = chunk.usage ?? usage;
    }
    expect(pieces.join('')).toBe('Hello');
    expect(usage?.completion_tokens).toBe(2);
    expect(upstream.requestCount()).toBe(2);
    expect(upstream.requests[0]?.model).toBe('m');
    expect(upstream.requestHeaders).toHaveLength(2);
    expect(upstream.requestHeaders[1]?.['content-type']).toBe('application/json');
  });

  it('keeps the headers of each request beside its body', async () => {
    const { upstream, client } = await start();
    await client.chat.completions.create(ask, { headers: { traceparent: 'tp-1' } });
    await client.completions.create({ model: 'm', prompt: 'p' }, { headers: { traceparent: 'tp-2' } });
    expect(upstream.requestHeaders.map((headers) => headers['traceparent'])).toEqual(['tp-1', 'tp-2']);
    expect(upstream.requests.map((body) => body.prompt)).toEqual([undefined, 'p']);
  });

  it('answers each request from the responder, and its settings change between requests', async () => {
    const { upstream, client } = await start({
      reply: (body, call) => (call.index === 0 ? `first to ${body.model ?? ''}` : undefined),
      chunks: ['default'],
    });
    expect((await client.chat.completions.create(ask)).choices[0]?.message.content).toBe('first to m');
    expect((await client.chat.completions.create(ask)).choices[0]?.message.content).toBe('default');
    upstream.settings.chunks = ['changed'];
    expect((await client.chat.completions.create(ask)).choices[0]?.message.content).toBe('changed');
    const text = await client.completions.create({ model: 'm', prompt: 'p' });
    expect(text.choices[0]?.text).toBe('changed');
  });

  it('injects an error status as OpenAI error JSON, and every n-th failure', async () => {
    const { client } = await start({ reply: () => ({ status: 429, message: 'slow down', type: 'rate_limit_error' }) });
    await expect(client.chat.completions.create(ask)).rejects.toMatchObject({
      status: 429,
      message: expect.stringContaining('slow down'),
    });
    const failing = await start({ failEvery: { every: 2, status: 503 } });
    await expect(failing.client.chat.completions.create(ask)).resolves.toBeDefined();
    await expect(failing.client.chat.completions.create(ask)).rejects.toMatchObject({ status: 503 });
  });

  it('serves a malformed body and drops a stream mid-way', async () => {
    const { upstream, client } = await start({ reply: () => ({ malformed: '{"choices": [' }) });
    await expect(client.chat.completions.create(ask)).rejects.toThrow();
    upstream.settings.reply = () => ({ dropAfter: 2, chunks: ['a', 'b', 'c', 'd'] });
    const stream = await client.chat.completions.create({ ...ask, stream: true });
    const received: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? '');
      })(),
    ).rejects.toThrow();
    expect(received.join('')).toBe('ab');
  });

  it('keeps the first content chunk at least ttftMs after arrival and stamps server times', async () => {
    const { upstream, client } = await start({ ttftMs: 30, itlMs: 5, tokens: 3, stampServerTimes: true });
    const stream = await client.chat.completions.create({ ...ask, stream: true });
    for await (const chunk of stream) void chunk;
    const [times] = upstream.served;
    expect(times?.chunkMs).toHaveLength(3);
    expect(times?.chunkMs[0]).toBeGreaterThanOrEqual(30);
    expect(times?.chunkMs[2]).toBeGreaterThanOrEqual(40);
  });

  it('exposes the metrics surface of the engine it stands in for', async () => {
    const vllm = await start({ kvUsage: 0.3, servedModel: 'served' });
    expect(await (await fetch(`${vllm.upstream.url}/metrics`)).text()).toContain(
      'vllm:kv_cache_usage_perc{model_name="served"} 0.3',
    );
    vllm.upstream.settings.metricsPage = { status: 500, body: 'broken' };
    expect((await fetch(`${vllm.upstream.url}/metrics`)).status).toBe(500);
    expect(vllm.upstream.metricsScrapes()).toBe(2);
    const llama = await start({ engine: 'llamacpp' });
    expect(await (await fetch(`${llama.upstream.url}/metrics`)).text()).toContain('llamacpp:requests_processing 0');
    expect(await (await fetch(`${llama.upstream.url}/slots`)).json()).toEqual([
      { id: 0, n_ctx: 4096, is_processing: false },
    ]);
    const hosted = await start({ engine: 'openai', servedModel: 'fake' });
    expect((await fetch(`${hosted.upstream.url}/metrics`)).status).toBe(404);
    expect((await hosted.client.models.list()).data.map((model) => model.id)).toEqual(['fake']);
  });
});
