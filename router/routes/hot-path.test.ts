// The hot path (node:http, no Express) and the Express route must answer the same request the same way: a query
// string sends a generation request through Express, so each case is sent both ways and the answers compared.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FAST_SCHEDULING, postRaw, startReplicas, startTestRouter, vllmPool, type TestRouter } from '../testing/harness.ts';
import { withHotPath } from './hot-path.ts';
import type { GenerationHandler } from './generation.ts';
import { continueTrace } from '../observability/trace-context.ts';

let harness: TestRouter;

beforeAll(async () => {
  const replicas = await startReplicas([{ model: 'llama-3.1-8b' }]);
  harness = await startTestRouter(
    {
      server: { bodyLimit: '16kb' },
      pools: [vllmPool('pool', replicas)],
      models: [{ name: 'llama-3.1-8b', route: ['pool'], aliases: ['small'] }],
      scheduling: FAST_SCHEDULING,
    },
    {},
    replicas,
  );
});

afterAll(async () => {
  await harness?.close();
});

const valid = { model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hello' }], max_tokens: 4, temperature: 0 };

const cases: Array<[string, string, string]> = [
  ['a valid chat request', '/chat/completions', JSON.stringify(valid)],
  ['a valid streamed chat request', '/chat/completions', JSON.stringify({ ...valid, stream: true })],
  ['a valid completion', '/completions', JSON.stringify({ model: 'small', prompt: 'Once', max_tokens: 3 })],
  ['malformed JSON', '/chat/completions', '{"model": '],
  ['an empty body', '/chat/completions', ''],
  ['a wrong type', '/chat/completions', JSON.stringify({ ...valid, max_tokens: 'many' })],
  ['an unknown model', '/chat/completions', JSON.stringify({ ...valid, model: 'gpt-nope' })],
  ['a body over the limit', '/chat/completions', JSON.stringify({ ...valid, messages: [{ role: 'user', content: 'x'.repeat(40_000) }] })],
];

describe('hot path and Express path agree', () => {
  it.each(cases)('%s', async (_name, path, body) => {
    const hot = await postRaw(`${harness.baseURL}${path}`, body, { 'content-type': 'application/json', 'x-request-id': 'hot-1' });
    const express = await postRaw(`${harness.baseURL}${path}?via=express`, body, {
      'content-type': 'application/json',
      'x-request-id': 'express-1',
    });
    expect(hot.status).toBe(express.status);
    expect(hot.headers.get('content-type')).toBe(express.headers.get('content-type'));
    expect(hot.headers.get('x-request-id')).toBe('hot-1');
    expect(express.headers.get('x-request-id')).toBe('express-1');
    if (hot.status === 200) {
      for (const header of ['x-switchyard-backend', 'x-switchyard-route', 'x-switchyard-model']) {
        expect(hot.headers.get(header)).toBe(express.headers.get(header));
      }
      expect(Number(hot.headers.get('x-switchyard-overhead-ms'))).toBeGreaterThanOrEqual(0);
      if (hot.headers.get('content-type')?.startsWith('text/event-stream')) {
        expect(hot.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
        expect(express.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
      } else {
        const [hotJson, expressJson] = [JSON.parse(hot.text), JSON.parse(express.text)] as Array<Record<string, unknown>>;
        expect(hotJson!.object).toBe(expressJson!.object);
        expect(hotJson!.model).toBe(expressJson!.model);
      }
    } else {
      expect(hot.status).toBeGreaterThanOrEqual(400);
      expect(hot.status).toBeLessThan(500);
      // Same error, word for word.
      expect(JSON.parse(hot.text)).toEqual(JSON.parse(express.text));
    }
  });

  it.each(cases)('%s: without an incoming x-request-id, one is made and returned on the hot path', async (_name, path, body) => {
    const hot = await postRaw(`${harness.baseURL}${path}`, body, { 'content-type': 'application/json' });
    expect(hot.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('counts hot-path requests in the request metrics like Express ones', async () => {
    await harness.client.chat.completions.create({ ...valid, messages: [{ role: 'user', content: 'count me' }] });
    const metrics = await (await fetch(`${harness.router.url}/metrics`)).text();
    expect(metrics).toMatch(/switchyard_requests_total\{endpoint="\/v1\/chat\/completions",model="llama-3.1-8b",route_reason="primary",status="200"\} \d+/);
  });
});

describe('withHotPath', () => {
  function recorder(): { listener: ReturnType<typeof withHotPath>; fallback: string[]; handled: string[] } {
    const fallback: string[] = [];
    const handled: string[] = [];
    const handler: GenerationHandler = async () => {
      handled.push('chat');
    };
    const listener = withHotPath(
      {
        attachContext: () => ({ requestId: 'x', startedAt: 0, endpoint: '', routeReason: 'none', model: '', trace: continueTrace(undefined) }),
        bodyLimitBytes: 1024,
        handlers: new Map([['/v1/chat/completions', handler]]),
        sendError: () => {},
      },
      (request) => {
        fallback.push(`${request.method} ${request.url}`);
      },
    );
    return { listener, fallback, handled };
  }

  it('hands every other method, path or query string to the fallback without touching the request', () => {
    const { listener, fallback, handled } = recorder();
    const response = {} as ServerResponse;
    for (const [method, url] of [
      ['GET', '/v1/chat/completions'],
      ['POST', '/v1/chat/completions?x=1'],
      ['POST', '/v1/chat/completions/'],
      ['POST', '/v1/embeddings'],
      ['POST', '/v1/constructor'],
    ] as const) {
      listener({ method, url } as IncomingMessage, response);
    }
    expect(fallback).toEqual([
      'GET /v1/chat/completions',
      'POST /v1/chat/completions?x=1',
      'POST /v1/chat/completions/',
      'POST /v1/embeddings',
      'POST /v1/constructor',
    ]);
    expect(handled).toEqual([]);
  });
});
