import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import OpenAI from 'openai';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpointUrl, sendRequest, type SendOptions } from './client.ts';
import { LOAD_TEST_SHAPE, type FakeUpstream, startFakeUpstream } from '../../core/testing/fake-upstream.ts';
import { countTokens } from './tokens.ts';

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

describe('sendRequest against a fake upstream with fixed TTFT and ITL', () => {
  let upstream: FakeUpstream;
  let noUsage: FakeUpstream;
  let failing: FakeUpstream;
  const dispatcher = new Agent({ keepAliveTimeout: 10_000 });
  const base = (url: string): SendOptions => ({
    dispatcher,
    baseUrl: url,
    model: 'fake',
    endpoint: 'chat',
    stream: true,
    ignoreEos: true,
    prompt: 'hello there',
    maxTokens: 8,
    timeoutMs: 10_000,
    now: () => performance.now(),
  });

  beforeAll(async () => {
    [upstream, noUsage, failing] = await Promise.all([
      startFakeUpstream({ ...LOAD_TEST_SHAPE, ttftMs: 25, itlMs: 10 }),
      startFakeUpstream({ ...LOAD_TEST_SHAPE, ttftMs: 1, itlMs: 1, usage: false, token: ' hello' }),
      startFakeUpstream({ ...LOAD_TEST_SHAPE, ttftMs: 1, itlMs: 1, failEvery: { every: 1, status: 503 } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([upstream.close(), noUsage.close(), failing.close()]);
    await dispatcher.close();
  });

  it('measures TTFT and ITL within 1 ms of what the server did, at low load', async () => {
    for (let warm = 0; warm < 3; warm += 1) await sendRequest({ ...base(upstream.baseURL), maxTokens: 2 });
    const servedBefore = upstream.served.length;
    const receiveDelays: number[] = [];
    const itlErrors: number[] = [];
    for (let round = 0; round < 4; round += 1) {
      const result = await sendRequest({ ...base(upstream.baseURL), maxTokens: 12 });
      expect(result.success).toBe(true);
      const server = upstream.served[servedBefore + round];
      const written = (server?.chunkMs ?? []).map((ms) => (server?.arrivedAt ?? 0) + ms);
      expect(result.itlMs).toHaveLength(written.length - 1);
      // Server and client share one clock (same process): each chunk's client timestamp − the moment it was written
      // is the generator's measurement error, for the first token (TTFT) and every later one (ITL).
      let received = result.sentAt + (result.ttftMs ?? Number.NaN);
      receiveDelays.push(received - (written[0] ?? 0));
      result.itlMs.forEach((gap, index) => {
        received += gap;
        receiveDelays.push(received - (written[index + 1] ?? 0));
        itlErrors.push(Math.abs(gap - ((written[index + 1] ?? 0) - (written[index] ?? 0))));
      });
      // The fixed shape: the first token is never earlier than the configured TTFT after the send.
      expect(result.ttftMs ?? 0).toBeGreaterThanOrEqual(25);
    }
    expect(receiveDelays).toHaveLength(48);
    expect(Math.min(...receiveDelays)).toBeGreaterThanOrEqual(0);
    expect(median(receiveDelays)).toBeLessThan(1);
    expect(median(itlErrors)).toBeLessThan(1);
  });

  it('does not count the empty role-only first chunk as the first token', async () => {
    const result = await sendRequest({ ...base(upstream.baseURL), maxTokens: 3 });
    expect(result.generatedText).toBe(' tok tok tok');
    expect(result.itlMs).toHaveLength(2);
    expect(result.outputTokens).toBe(3);
    expect(result.outputTokenSource).toBe('usage');
    expect(result.promptTokens).toBe(2);
  });

  it('counts output tokens with tiktoken when the server sends no usage', async () => {
    const result = await sendRequest({ ...base(noUsage.baseURL), maxTokens: 5 });
    expect(result.success).toBe(true);
    expect(result.outputTokenSource).toBe('tiktoken');
    expect(result.outputTokens).toBe(countTokens(' hello'.repeat(5)));
  });

  it('supports the completions endpoint and non-streaming requests', async () => {
    const completion = await sendRequest({ ...base(upstream.baseURL), endpoint: 'completions', maxTokens: 4 });
    expect(completion.success).toBe(true);
    expect(completion.itlMs).toHaveLength(3);
    const whole = await sendRequest({ ...base(upstream.baseURL), stream: false, maxTokens: 4 });
    expect(whole.success).toBe(true);
    expect(whole.ttftMs).toBeNull();
    expect(whole.outputTokens).toBe(4);
    // Non-streaming: the whole answer arrives after TTFT + 3 × ITL.
    expect(whole.e2eMs).toBeGreaterThanOrEqual(25 + 30);
  });

  it('classifies errors by type: HTTP status, refused connection, timeout, stream error', async () => {
    const unavailable = await sendRequest(base(failing.baseURL));
    expect(unavailable.error).toMatchObject({ type: 'http_5xx', status: 503 });
    expect(unavailable.success).toBe(false);

    const closed: Server = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = await sendRequest(base(`http://127.0.0.1:${port}/v1`));
    expect(refused.error?.type).toBe('connection');

    const slow = await sendRequest({ ...base(upstream.baseURL), timeoutMs: 5 });
    expect(slow.error?.type).toBe('timeout');

    // A 200 stream whose only event is an OpenAI error object.
    const broken = await startFakeUpstream({ reply: () => ({ malformed: '{"error":{"message":"upstream died"}}' }) });
    try {
      const streamError = await sendRequest(base(broken.baseURL));
      expect(streamError.error).toMatchObject({ type: 'stream_error', message: 'upstream died' });
    } finally {
      await broken.close();
    }
  });

  it('the fake upstream speaks the OpenAI protocol (real openai SDK as client)', async () => {
    const client = new OpenAI({ baseURL: upstream.baseURL, apiKey: 'unused' });
    const stream = await client.chat.completions.create({
      model: 'fake',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 3,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let completionTokens = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      completionTokens = chunk.usage?.completion_tokens ?? completionTokens;
    }
    expect(text).toBe(' tok tok tok');
    expect(completionTokens).toBe(3);
  });
});

describe('endpointUrl', () => {
  it('accepts base URLs with or without /v1', () => {
    expect(endpointUrl('http://127.0.0.1:8080', 'chat')).toBe('http://127.0.0.1:8080/v1/chat/completions');
    expect(endpointUrl('http://127.0.0.1:8080/v1/', 'completions')).toBe('http://127.0.0.1:8080/v1/completions');
  });
});
