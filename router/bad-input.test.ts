// Bad input over raw HTTP: malformed JSON, wrong types, huge bodies, unknown models and routes all come back as
// OpenAI error JSON with a 4xx status — never a 500, never a crash (the router keeps serving afterwards).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FAST_SCHEDULING,
  postRaw,
  startReplicas,
  startTestRouter,
  vllmPool,
  type TestRouter,
} from './testing/harness.ts';

let harness: TestRouter;
let chatURL: string;

beforeAll(async () => {
  const replicas = await startReplicas([{ model: 'llama-3.1-8b' }]);
  harness = await startTestRouter(
    {
      server: { bodyLimit: '64kb' },
      pools: [vllmPool('pool', replicas)],
      models: [{ name: 'llama-3.1-8b', route: ['pool'] }],
      scheduling: FAST_SCHEDULING,
    },
    {},
    replicas,
  );
  chatURL = `${harness.baseURL}/chat/completions`;
});

afterAll(async () => {
  await harness?.close();
});

interface ErrorJson {
  error: { message: string; type: string; param: string | null; code: string | null };
}

function parseError(text: string): ErrorJson {
  const parsed = JSON.parse(text) as ErrorJson;
  expect(Object.keys(parsed.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(parsed.error.message.length).toBeGreaterThan(0);
  return parsed;
}

const valid = { model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 };

describe('bad input', () => {
  it.each([
    ['truncated JSON', '{"model": "llama-3.1-8b", "messages": ['],
    ['not JSON at all', 'model=llama'],
    ['a JSON array', '[1,2,3]'],
    ['a JSON string', '"hello"'],
    ['an empty body', ''],
  ])('%s → 400', async (_name, body) => {
    const response = await postRaw(chatURL, body);
    expect(response.status).toBe(400);
    expect(parseError(response.text).error.type).toBe('invalid_request_error');
  });

  it.each([
    ['messages is a string', { ...valid, messages: 'hi' }, 'messages'],
    ['max_tokens is negative', { ...valid, max_tokens: -1 }, 'max_tokens'],
    ['max_tokens is a string', { ...valid, max_tokens: '5' }, 'max_tokens'],
    ['stream is a string', { ...valid, stream: 'yes' }, 'stream'],
    ['role is unknown', { ...valid, messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role'],
    ['model is missing', { messages: valid.messages }, 'model'],
    ['tools is an object', { ...valid, tools: { name: 'x' } }, 'tools'],
    ['response_format type unknown', { ...valid, response_format: { type: 'yaml' } }, 'response_format.type'],
  ])('%s → 400 naming the parameter', async (_name, body, param) => {
    const response = await postRaw(chatURL, JSON.stringify(body));
    expect(response.status).toBe(400);
    expect(parseError(response.text).error.param).toBe(param);
  });

  it('rejects a body over the limit with 413', async () => {
    const huge = JSON.stringify({ ...valid, messages: [{ role: 'user', content: 'x'.repeat(200_000) }] });
    const response = await postRaw(chatURL, huge);
    expect(response.status).toBe(413);
    expect(parseError(response.text).error.code).toBe('request_too_large');
  });

  it('rejects unknown models with 404 model_not_found', async () => {
    const response = await postRaw(chatURL, JSON.stringify({ ...valid, model: 'gpt-17' }));
    expect(response.status).toBe(404);
    expect(parseError(response.text).error).toMatchObject({ code: 'model_not_found', param: 'model' });
  });

  it('answers unknown routes with 404 JSON', async () => {
    const response = await fetch(`${harness.router.url}/v1/nothing-here`);
    expect(response.status).toBe(404);
    parseError(await response.text());
  });

  it('passes unknown fields through and keeps serving after all of the above', async () => {
    const response = await postRaw(chatURL, JSON.stringify({ ...valid, top_k: 5, some_future_field: { a: 1 } }));
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text).object).toBe('chat.completion');
  });

  it('passes an upstream 400 (context too long) on as a 400, not a 500', async () => {
    const response = await postRaw(chatURL, JSON.stringify({ ...valid, max_tokens: 10_000_000 }));
    expect(response.status).toBe(400);
    // The simulator answers as vLLM does ("BadRequestError", code 400); the caller gets OpenAI's words.
    const { error } = parseError(response.text);
    expect(error.type).toBe('invalid_request_error');
    expect(error.code).toBeNull();
  });
});
