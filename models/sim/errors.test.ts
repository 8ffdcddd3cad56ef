// Bad input gets vLLM's error JSON and status, never a 500 or a crash.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimReplica, startSimReplica } from './index.ts';

let replica: SimReplica;

beforeAll(async () => {
  replica = await startSimReplica({ model: 'llama-3.1-8b', gpu: 'a10g', speed: 200, maxModelLen: 4096 });
});
afterAll(async () => {
  await replica.close();
});

async function post(
  path: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${replica.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, json: await response.json() };
}

function expectVllmError(
  result: { status: number; json: unknown },
  status: number,
  type: string,
  message?: RegExp,
): void {
  expect(result.status).toBe(status);
  const body = result.json as { error: Record<string, unknown> };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(body.error['type']).toBe(type);
  expect(body.error['code']).toBe(status);
  expect(typeof body.error['message']).toBe('string');
  if (message) expect(body.error['message']).toMatch(message);
}

const chat = (body: unknown): string => JSON.stringify(body);
const user = [{ role: 'user', content: 'hi' }];

describe('bad input', () => {
  it('malformed JSON → 400 BadRequestError', async () => {
    expectVllmError(
      await post('/v1/chat/completions', '{"model": "llama-3.1-8b", "messages": ['),
      400,
      'BadRequestError',
      /JSON/,
    );
  });

  it('missing messages → 400 naming the field', async () => {
    expectVllmError(
      await post('/v1/chat/completions', chat({ model: 'llama-3.1-8b' })),
      400,
      'BadRequestError',
      /messages[\s\S]*Field required/,
    );
  });

  it('wrong types → 400', async () => {
    expectVllmError(
      await post('/v1/chat/completions', chat({ messages: user, max_tokens: 'ten' })),
      400,
      'BadRequestError',
      /max_tokens\n  Input should be a valid number/,
    );
    expectVllmError(
      await post('/v1/chat/completions', chat({ messages: [{ role: 'wizard', content: 'x' }] })),
      400,
      'BadRequestError',
      /role/,
    );
    expectVllmError(await post('/v1/chat/completions', '[1,2,3]'), 400, 'BadRequestError');
    expectVllmError(await post('/v1/completions', chat({ prompt: 42 })), 400, 'BadRequestError', /prompt/);
  });

  it('unknown model → 404 NotFoundError', async () => {
    expectVllmError(
      await post('/v1/chat/completions', chat({ model: 'gpt-5', messages: user })),
      404,
      'NotFoundError',
      /The model `gpt-5` does not exist\./,
    );
  });

  it('max_tokens beyond the context → 400 with vLLM’s wording', async () => {
    expectVllmError(
      await post('/v1/chat/completions', chat({ messages: user, max_tokens: 5000 })),
      400,
      'BadRequestError',
      /'max_tokens' or 'max_completion_tokens' is too large: 5000\. This model's maximum context length is 4096 tokens and your request has \d+ input tokens/,
    );
    expectVllmError(
      await post('/v1/completions', chat({ prompt: 'word '.repeat(5000) })),
      400,
      'BadRequestError',
      /maximum context length is 4096 tokens\. However, your request has \d+ input tokens/,
    );
  });

  it('n > 1, bad tool_choice and a bad fault header are 400s', async () => {
    expectVllmError(await post('/v1/chat/completions', chat({ messages: user, n: 3 })), 400, 'BadRequestError');
    expectVllmError(
      await post(
        '/v1/chat/completions',
        chat({
          messages: user,
          tool_choice: { type: 'function', function: { name: 'nope' } },
          tools: [{ type: 'function', function: { name: 'other' } }],
        }),
      ),
      400,
      'BadRequestError',
      /nope/,
    );
    expectVllmError(
      await post('/v1/chat/completions', chat({ messages: user }), { 'x-sim-fault': 'explode=1' }),
      400,
      'BadRequestError',
      /unknown item/,
    );
  });

  it('unknown routes → FastAPI’s 404 {"detail":"Not Found"}', async () => {
    const response = await fetch(`${replica.url}/v1/embeddingz`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ detail: 'Not Found' });
  });

  it('still serves after all of that', async () => {
    const result = await post('/v1/chat/completions', chat({ messages: user, max_tokens: 3 }));
    expect(result.status).toBe(200);
    expect((await fetch(`${replica.url}/health`)).status).toBe(200);
  });
});

describe('vLLM --api-key', () => {
  it('answers 401 {"error":"Unauthorized"} without the key and serves with it', async () => {
    const guarded = await startSimReplica({ model: 'llama-3.1-8b', gpu: 'a10g', speed: 200, apiKey: 'secret' });
    try {
      const denied = await fetch(`${guarded.url}/v1/models`);
      expect(denied.status).toBe(401);
      expect(await denied.json()).toEqual({ error: 'Unauthorized' });
      const allowed = await fetch(`${guarded.url}/v1/models`, { headers: { authorization: 'Bearer secret' } });
      expect(allowed.status).toBe(200);
      expect((await fetch(`${guarded.url}/health`)).status).toBe(200);
    } finally {
      await guarded.close();
    }
  });
});
