// W3C trace context and the request log through the real router (official openai SDK, simulator replica behind a
// recording proxy): an incoming traceparent is continued and the upstream request carries the router's span; without
// one (or with a malformed one) a fresh trace starts; every request writes one JSON log line with ids, trace, route,
// backend, tokens and latency, governance off.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, Writable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { continueTrace, traceparentOf } from './observability/trace-context.ts';
import { FAST_SCHEDULING, startReplicas, startTestRouter, vllmPool, type TestRouter } from './testing/harness.ts';
import type { SimReplica } from '../models/sim/index.ts';

let harness: TestRouter;
let proxy: Server;
const seen: Array<string | undefined> = [];
const lines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  const [replica] = (await startReplicas([{ model: 'llama-3.1-8b' }])) as [SimReplica];
  proxy = createServer((request, response) => {
    if (request.method === 'POST') seen.push(request.headers['traceparent'] as string | undefined);
    const chunks: Buffer[] = [];
    request.on('data', (piece: Buffer) => chunks.push(piece));
    request.on('end', () => {
      void fetch(`${replica.url}${request.url}`, {
        method: request.method ?? 'GET',
        headers: { 'content-type': 'application/json' },
        ...(request.method === 'POST' ? { body: Buffer.concat(chunks) } : {}),
      }).then(
        (upstream) => {
          response.writeHead(upstream.status, {
            'content-type': upstream.headers.get('content-type') ?? 'application/json',
          });
          if (upstream.body) Readable.fromWeb(upstream.body as WebReadableStream).pipe(response);
          else response.end();
        },
        () => response.destroy(),
      );
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n'))
        if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  harness = await startTestRouter(
    {
      pools: [vllmPool('gpu', [{ url: proxyUrl } as SimReplica])],
      models: [{ name: 'llama-3.1-8b', aliases: ['small'], route: ['gpu'] }],
      scheduling: FAST_SCHEDULING,
    },
    { requestLogDestination: destination },
    [replica],
  );
});
afterAll(async () => {
  await harness?.close();
  await new Promise((resolve) => proxy?.close(resolve));
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
      seen.length = 0;
      const { response } = await harness.client.chat.completions
        .create(
          { model: 'small', max_tokens: 4, stream, messages: [{ role: 'user', content: 'hi' }] },
          { headers: { traceparent: `00-${TRACE}-${PARENT}-01` } },
        )
        .withResponse();
      if (stream) await response.text();
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
      seen.length = 0;
      await harness.client.chat.completions.create(
        { model: 'small', max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] },
        header ? { headers: { traceparent: header } } : {},
      );
      expect(seen[0]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(seen[0]!.split('-')[1]).not.toBe(TRACE);
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
