// The request pipeline is one declared list (routes/pipeline.ts): the node:http hot path and the Express app run the
// same stage objects, so a request reports the same stage trace on both paths, and that trace is the declared list.
// A stage whose feature is off is not in the list and is never called. A query string sends a generation request
// through Express, so each case is sent both ways.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  FAST_SCHEDULING,
  postRaw,
  startReplicas,
  startTestRouter,
  vllmPool,
  type TestRouter,
} from '../testing/harness.ts';
import type { SimReplica } from '../../models/sim/replica.ts';
import { withHotPath } from './hot-path.ts';
import type { GenerationHandler } from './generation.ts';
import { requestIdOf } from './context.ts';
import type { StageName, StageObserver } from './pipeline.ts';

/** Stage traces by response; read back by the request id the context stage gave the response. */
function traceRecorder(): { observer: StageObserver; traceOf(requestId: string): StageName[] } {
  const traces: Array<{ response: ServerResponse; stages: StageName[] }> = [];
  const byResponse = new WeakMap<ServerResponse, StageName[]>();
  return {
    observer(stage, response) {
      let stages = byResponse.get(response);
      if (!stages) {
        stages = [];
        byResponse.set(response, stages);
        traces.push({ response, stages });
      }
      stages.push(stage);
    },
    traceOf(requestId) {
      const found = traces.filter((trace) => requestIdOf(trace.response) === requestId);
      expect(found).toHaveLength(1);
      return found[0]!.stages;
    },
  };
}

const ADMIN = 'pipeline-admin-token-0123456789';
let replicas: SimReplica[];
let open: TestRouter;
let governed: TestRouter;
const openTrace = traceRecorder();
const governedTrace = traceRecorder();
let governedKey: string;

beforeAll(async () => {
  replicas = await startReplicas([{ model: 'llama-3.1-8b' }]);
  const config = {
    server: { bodyLimit: '16kb' },
    pools: [vllmPool('pool', replicas)],
    models: [{ name: 'llama-3.1-8b', route: ['pool'], aliases: ['small'] }],
    scheduling: FAST_SCHEDULING,
  };
  open = await startTestRouter(config, { stageObserver: openTrace.observer });
  governed = await startTestRouter(
    {
      ...config,
      governance: { enabled: true, keys: { database: ':memory:', adminToken: ADMIN }, logging: { level: 'silent' } },
    },
    { stageObserver: governedTrace.observer },
  );
  const created = await fetch(`${governed.router.url}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ owner: 'pipeline-test', name: 'pipeline' }),
  });
  expect(created.status).toBe(201);
  governedKey = ((await created.json()) as { key: string }).key;
});

afterAll(async () => {
  await open?.close();
  await governed?.close();
  await Promise.allSettled((replicas ?? []).map((replica) => replica.close()));
});

const valid = { model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hello' }], max_tokens: 4, temperature: 0 };
const GENERATION = ['extensions-guard', 'plan', 'dispatch', 'respond', 'accounting'];

// name, path, body, the stages the request reaches with governance, retrieval and the chain off
const cases: Array<[string, string, string, string[]]> = [
  ['a valid chat request', '/chat/completions', JSON.stringify(valid), ['context', 'body', ...GENERATION]],
  [
    'a valid streamed chat request',
    '/chat/completions',
    JSON.stringify({ ...valid, stream: true }),
    ['context', 'body', ...GENERATION],
  ],
  [
    'a valid completion',
    '/completions',
    JSON.stringify({ model: 'small', prompt: 'Once', max_tokens: 3 }),
    ['context', 'body', ...GENERATION],
  ],
  ['malformed JSON', '/chat/completions', '{"model": ', ['context', 'body']],
  ['an empty body', '/chat/completions', '', ['context', 'body', 'extensions-guard', 'plan']],
  [
    'a wrong type',
    '/chat/completions',
    JSON.stringify({ ...valid, max_tokens: 'many' }),
    ['context', 'body', 'extensions-guard', 'plan'],
  ],
  [
    'an unknown model',
    '/chat/completions',
    JSON.stringify({ ...valid, model: 'gpt-nope' }),
    ['context', 'body', 'extensions-guard', 'plan'],
  ],
  [
    'a body over the limit',
    '/chat/completions',
    JSON.stringify({ ...valid, messages: [{ role: 'user', content: 'x'.repeat(40_000) }] }),
    ['context', 'body'],
  ],
  [
    'rag with retrieval off',
    '/chat/completions',
    JSON.stringify({ ...valid, rag: { index: 'docs' } }),
    ['context', 'body', 'extensions-guard'],
  ],
];

describe('one declared pipeline, both paths', () => {
  it('declares the stages that are on, in order, and leaves the off ones out', () => {
    const chat = open.router.pipeline.stageNames('/v1/chat/completions');
    expect(chat).toEqual(['context', 'body', ...GENERATION]);
    expect(governed.router.pipeline.stageNames('/v1/chat/completions')).toEqual([
      'context',
      'body',
      'auth',
      'admission',
      'extensions-guard',
      'plan',
      'cache',
      'dispatch',
      'respond',
      'accounting',
    ]);
  });

  it.each(cases)(
    '%s: same answer and same stage trace on the hot path and through Express',
    async (_name, path, body, expected) => {
      const id = `${_name.replace(/\W+/g, '-')}-${Date.now()}`;
      const hot = await postRaw(`${open.baseURL}${path}`, body, {
        'content-type': 'application/json',
        'x-request-id': `hot-${id}`,
      });
      const express = await postRaw(`${open.baseURL}${path}?via=express`, body, {
        'content-type': 'application/json',
        'x-request-id': `express-${id}`,
      });
      expect(hot.status).toBe(express.status);
      expect(hot.headers.get('content-type')).toBe(express.headers.get('content-type'));
      expect(hot.headers.get('x-request-id')).toBe(`hot-${id}`);
      expect(express.headers.get('x-request-id')).toBe(`express-${id}`);
      expect(openTrace.traceOf(`hot-${id}`)).toEqual(expected);
      expect(openTrace.traceOf(`express-${id}`)).toEqual(expected);
      if (hot.status === 200) {
        for (const header of ['x-switchyard-backend', 'x-switchyard-route', 'x-switchyard-model']) {
          expect(hot.headers.get(header)).toBe(express.headers.get(header));
        }
        expect(Number(hot.headers.get('x-switchyard-overhead-ms'))).toBeGreaterThanOrEqual(0);
        if (hot.headers.get('content-type')?.startsWith('text/event-stream')) {
          expect(hot.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
          expect(express.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
        } else {
          const [hotJson, expressJson] = [JSON.parse(hot.text), JSON.parse(express.text)] as Array<
            Record<string, unknown>
          >;
          expect(hotJson!['object']).toBe(expressJson!['object']);
          expect(hotJson!['model']).toBe(expressJson!['model']);
        }
      } else {
        expect(hot.status).toBeGreaterThanOrEqual(400);
        expect(hot.status).toBeLessThan(500);
        // Same error, word for word.
        expect(JSON.parse(hot.text)).toEqual(JSON.parse(express.text));
      }
    },
  );

  it('with governance on, runs auth, admission and cache on both paths (and stops at auth without a key)', async () => {
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${governedKey}` };
    const hot = await postRaw(`${governed.baseURL}/chat/completions`, JSON.stringify(valid), {
      ...headers,
      'x-request-id': 'gov-hot',
    });
    const express = await postRaw(`${governed.baseURL}/chat/completions?via=express`, JSON.stringify(valid), {
      ...headers,
      'x-request-id': 'gov-express',
    });
    expect([hot.status, express.status]).toEqual([200, 200]);
    const declared = governed.router.pipeline.stageNames('/v1/chat/completions');
    expect(governedTrace.traceOf('gov-hot')).toEqual(declared);
    expect(governedTrace.traceOf('gov-express')).toEqual(declared);
    const refused = await postRaw(`${governed.baseURL}/chat/completions`, JSON.stringify(valid), {
      'content-type': 'application/json',
      authorization: 'Bearer sy-not-a-key',
      'x-request-id': 'gov-refused',
    });
    expect(refused.status).toBe(401);
    expect(governedTrace.traceOf('gov-refused')).toEqual(['context', 'body', 'auth']);
  });

  it.each(cases)(
    '%s: without an incoming x-request-id, one is made and returned on the hot path',
    async (_name, path, body) => {
      const hot = await postRaw(`${open.baseURL}${path}`, body, { 'content-type': 'application/json' });
      expect(hot.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    },
  );

  it('counts hot-path requests in the request metrics like Express ones', async () => {
    await open.client.chat.completions.create({ ...valid, messages: [{ role: 'user', content: 'count me' }] });
    const metrics = await (await fetch(`${open.router.url}/metrics`)).text();
    expect(metrics).toMatch(
      /switchyard_requests_total\{endpoint="\/v1\/chat\/completions",model="llama-3.1-8b",route_reason="primary",status="200"\} \d+/,
    );
  });
});

describe('withHotPath', () => {
  it('hands every other method, path or query string to the fallback without running a stage', () => {
    const fallback: string[] = [];
    const ran: string[] = [];
    const handler: GenerationHandler = async () => {
      ran.push('handler');
    };
    const listener = withHotPath(
      {
        front: [{ name: 'context', run: (_request, _response, _path, next) => (ran.push('context'), next()) }],
        handlers: new Map([['/v1/chat/completions', handler]]),
        sendError: () => {},
      },
      (request) => {
        fallback.push(`${request.method} ${request.url}`);
      },
    );
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
    expect(ran).toEqual([]);
  });
});
