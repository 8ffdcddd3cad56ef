// The client's JSON text goes upstream as it came when no stage changed the body (a non-streamed request for the
// model the pool serves under that name, governance off), and is serialised again whenever something did: an alias
// resolved to the served name, a stream (usage forced on), governance on. Real router, the shared fake upstream
// keeping each POST body's text.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../core/testing/fake-upstream.ts';
import { FAST_SCHEDULING, startTestRouter, type TestRouter } from './testing/harness.ts';
import type { RouterConfigInput } from './config/schema.ts';

let upstream: FakeUpstream;
let plain: TestRouter;
let governed: TestRouter;

const config = (extra: Partial<RouterConfigInput> = {}): RouterConfigInput => ({
  pools: [
    { name: 'gpu', kind: 'vllm', model: 'llama-3.1-8b', gpu: 'a10g', backends: [{ id: 'gpu-0', url: upstream.url }] },
  ],
  models: [{ name: 'llama-3.1-8b', aliases: ['small'], route: ['gpu'] }],
  scheduling: FAST_SCHEDULING,
  ...extra,
});

beforeAll(async () => {
  upstream = await startFakeUpstream({ tokens: 'max_tokens' });
  plain = await startTestRouter(config());
  governed = await startTestRouter(
    config({
      governance: {
        enabled: true,
        keys: { enabled: false, database: ':memory:' },
        logging: { level: 'silent' },
      },
    }),
  );
});
afterAll(async () => {
  await plain?.close();
  await governed?.close();
  await upstream?.close();
});

/** Posts `text` as it is and returns what the upstream received for it, and the router's answer. */
async function relay(router: TestRouter, text: string): Promise<{ status: number; answer: string; received: string }> {
  const before = upstream.requestTexts.length;
  const response = await request(`${router.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: text,
  });
  const answer = await response.body.text();
  expect(upstream.requestTexts.length).toBe(before + 1);
  return { status: response.statusCode, answer, received: upstream.requestTexts.at(-1)! };
}

// Spacing, key order, an escape, a number's spelling and a field the router does not know: a re-serialised body
// would change every one of them.
const ODD =
  '{ "max_tokens" : 3,\n  "model":"llama-3.1-8b", "messages":[{"role":"user","content":"caf\\u00e9 \\"quoted\\""}],' +
  ' "temperature": 0.50, "x_vendor_field": {"keep": [1, 2.0]} }';

describe('the client body text upstream', () => {
  it('is sent byte for byte when nothing changed the body', async () => {
    const { status, answer, received } = await relay(plain, ODD);
    expect(status).toBe(200);
    expect(received).toBe(ODD);
    expect(JSON.parse(answer)).toMatchObject({ object: 'chat.completion', usage: { completion_tokens: 3 } });
  });

  it('is serialised again with the served name when the client named an alias', async () => {
    const { status, received } = await relay(plain, ODD.replace('"llama-3.1-8b"', '"small"'));
    expect(status).toBe(200);
    expect(received).not.toContain('small');
    expect(JSON.parse(received)).toMatchObject({
      model: 'llama-3.1-8b',
      temperature: 0.5,
      x_vendor_field: { keep: [1, 2] },
    });
  });

  it('is serialised again for a stream, with usage forced on', async () => {
    const { status, received } = await relay(
      plain,
      ODD.replace('"max_tokens" : 3,', '"max_tokens": 3, "stream": true,'),
    );
    expect(status).toBe(200);
    expect(JSON.parse(received)).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('is serialised again when governance is on (guardrails may change a body in place)', async () => {
    const { status, received } = await relay(governed, ODD);
    expect(status).toBe(200);
    expect(received).not.toBe(ODD);
    expect(JSON.parse(received)).toMatchObject({
      model: 'llama-3.1-8b',
      max_tokens: 3,
      x_vendor_field: { keep: [1, 2] },
    });
  });

  it('keeps nothing of one request for the next on the same connection', async () => {
    const first = await relay(plain, ODD);
    const second = await relay(plain, ODD.replace('caf\\u00e9', 'tea'));
    expect(first.received).toBe(ODD);
    expect(second.received).toContain('"content":"tea \\"quoted\\""');
  });
});
