// W3C trace context and the request log through the real router (official openai SDK, the shared fake upstream, which
// keeps the headers of each request): an incoming traceparent is continued and the upstream request carries the
// router's span; without one (or with a malformed one) a fresh trace starts; every request writes one JSON log line
// with ids, trace, route, backend, tokens and latency, governance off.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../core/testing/fake-upstream.ts';
import { continueTrace, traceparentOf } from './observability/trace-context.ts';
import { FAST_SCHEDULING, startTestRouter, type TestRouter } from './testing/harness.ts';

let harness: TestRouter;
let upstream: FakeUpstream;
const lines: Array<Record<string, unknown>> = [];

/** The traceparent of each request the upstream received after the first `mark` requests. */
function seenSince(mark: number): Array<string | undefined> {
  return upstream.requestHeaders.slice(mark).map((headers) => headers['traceparent'] as string | undefined);
}

beforeAll(async () => {
  upstream = await startFakeUpstream({ tokens: 'max_tokens' });
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n'))
        if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  harness = await startTestRouter(
    {
      pools: [
        {
          name: 'gpu',
          kind: 'vllm',
          model: 'llama-3.1-8b',
          gpu: 'a10g',
          backends: [{ id: 'gpu-0', url: upstream.url }],
        },
      ],
      models: [{ name: 'llama-3.1-8b', aliases: ['small'], route: ['gpu'] }],
      scheduling: FAST_SCHEDULING,
    },
    { requestLogDestination: destination },
  );
});
afterAll(async () => {
  await harness?.close();
  await upstream?.close();
});

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

async function logLineFor(requestId: string): Promise<Record<string, unknown>> {
  for (let attempt = 0; attempt < 100 && !lines.some((line) => line['requestId'] === requestId); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const found = lines.filter((line) => line['requestId'] === requestId);
  expect(found).toHaveLength(1);
  return found[0]!;
}

describe('trace context', () => {
  it('continues an incoming traceparent and sends the router span upstream (JSON and stream)', async () => {
    for (const stream of [false, true]) {
      const mark = upstream.requestCount();
      const { response } = await harness.client.chat.completions
        .create(
          { model: 'small', max_tokens: 4, stream, messages: [{ role: 'user', content: 'hi' }] },
          { headers: { traceparent: `00-${TRACE}-${PARENT}-01` } },
        )
        .withResponse();
      if (stream) await response.text();
      const seen = seenSince(mark);
      expect(seen).toHaveLength(1);
      const [, traceId, spanId, flags] = seen[0]!.split('-');
      expect(traceId).toBe(TRACE);
      expect(spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(spanId).not.toBe(PARENT);
      expect(flags).toBe('01');
      const line = await logLineFor(response.headers.get('x-request-id')!);
      expect(line).toMatchObject({
        traceId: TRACE,
        spanId,
        parentSpanId: PARENT,
        status: 200,
        backend: 'gpu-0',
        route: 'primary',
        model: 'small',
      });
    }
  });

  it('starts a fresh trace without a (valid) traceparent', async () => {
    for (const header of [
      undefined,
      'garbage',
      `00-${'0'.repeat(32)}-${PARENT}-01`,
      `00-${TRACE}-${PARENT}-01-extra`,
    ]) {
      const mark = upstream.requestCount();
      await harness.client.chat.completions.create(
        { model: 'small', max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] },
        header ? { headers: { traceparent: header } } : {},
      );
      const [seen] = seenSince(mark);
      expect(seen).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(seen!.split('-')[1]).not.toBe(TRACE);
    }
    const next = continueTrace(`00-${TRACE}-${PARENT}-00`);
    expect(traceparentOf(next)).toMatch(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-00$`));
  });
});

describe('request log', () => {
  it('writes one JSON line per request with tokens and latency, errors included', async () => {
    const { data, response } = await harness.client.chat.completions
      .create({ model: 'small', max_tokens: 5, messages: [{ role: 'user', content: 'hello' }] })
      .withResponse();
    const line = await logLineFor(response.headers.get('x-request-id')!);
    expect(line).toMatchObject({ msg: 'request', method: 'POST', path: '/v1/chat/completions', status: 200 });
    expect(line['promptTokens']).toBe(data.usage?.prompt_tokens);
    expect(line['completionTokens']).toBe(data.usage?.completion_tokens);
    expect(line['latencyMs']).toEqual(expect.any(Number));

    const failed = await fetch(`${harness.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'bad-model-request' },
      body: JSON.stringify({ model: 'nope', messages: [] }),
    });
    expect(failed.status).toBe(400);
    expect(await logLineFor('bad-model-request')).toMatchObject({ status: 400, path: '/v1/chat/completions' });
  });
});
