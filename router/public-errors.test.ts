// What a caller sees when an upstream refuses or fails: OpenAI's words, never a backend id, URL or host; the backend
// that answered is named in the x-switchyard-backend header only. Embeddings asked of a generative model: a 400 about
// `model`, not the upstream's `{"detail":"Not Found"}`. Real router, simulator replicas, the official openai SDK.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamError, renderError } from '../core/errors.ts';
import { errorFromUpstreamStatus, withoutInternalNames } from './backends/upstream-errors.ts';
import {
  FAST_SCHEDULING,
  postRaw,
  startReplicas,
  startTestRouter,
  vllmPool,
  type TestRouter,
} from './testing/harness.ts';

let harness: TestRouter;
let replicaHosts: string[];
const BACKEND = 'llama-8b-a10g-0';

beforeAll(async () => {
  const replicas = await startReplicas([{ model: 'llama-3.1-8b' }]);
  replicaHosts = replicas.map((replica) => new URL(replica.url).host);
  harness = await startTestRouter(
    {
      pools: [vllmPool('llama-8b-a10g', replicas)],
      models: [{ name: 'llama-3.1-8b', aliases: ['small'], route: ['llama-8b-a10g'] }],
      scheduling: FAST_SCHEDULING,
      retries: { maxAttempts: 1 },
    },
    {},
    replicas,
  );
});
afterAll(async () => {
  await harness?.close();
});

function expectNoInternalNames(message: string): void {
  expect(message).not.toContain(BACKEND);
  expect(message).not.toMatch(/\bBackend\b/);
  for (const host of replicaHosts) expect(message).not.toContain(host);
  expect(message).not.toMatch(/127\.0\.0\.1|https?:\/\//);
}

describe('upstream refusals reach the caller without internal names', () => {
  const messages = [{ role: 'user' as const, content: 'hi' }];
  it.each([
    ['oversized max_tokens', { max_tokens: 10_000_000 }, null],
    ['tool_choice without tools', { tool_choice: 'required' }, 'tool_choice'],
    ['n=2', { n: 2 }, 'n'],
  ])('%s → 400 in OpenAI words, backend only in the header', async (_name, extra, param) => {
    const raw = await postRaw(
      `${harness.baseURL}/chat/completions`,
      JSON.stringify({ model: 'small', messages, ...extra }),
    );
    expect(raw.status).toBe(400);
    expect(raw.headers.get('x-switchyard-backend')).toBe(BACKEND);
    const { error } = JSON.parse(raw.text) as {
      error: { message: string; type: string; param: string | null; code: string | null };
    };
    expect(error.type).toBe('invalid_request_error');
    if (param) expect(error.param).toBe(param);
    expectNoInternalNames(error.message);
    // The SDK's typed error carries the same.
    const failure = await harness.client.chat.completions
      .create({ model: 'small', messages, ...extra } as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .catch((caught: unknown) => caught);
    expect(failure).toBeInstanceOf(OpenAI.BadRequestError);
    expectNoInternalNames((failure as Error).message);
  });

  it('a ~200k-token prompt on an 8B pool → 400 context_length_exceeded', async () => {
    const failure = await harness.client.chat.completions
      .create({ model: 'small', messages: [{ role: 'user', content: 'ab '.repeat(200_000) }] })
      .catch((caught: unknown) => caught);
    expect(failure).toBeInstanceOf(OpenAI.BadRequestError);
    const typed = failure as InstanceType<typeof OpenAI.BadRequestError>;
    expect(typed.code).toBe('context_length_exceeded');
    expect(typed.message).toMatch(/maximum context length/);
    expectNoInternalNames(typed.message);
  });

  it('embeddings asked of a chat model: 400 about `model` with a clear message', async () => {
    const failure = await harness.client.embeddings
      .create({ model: 'small', input: 'hello' })
      .catch((caught: unknown) => caught);
    expect(failure).toBeInstanceOf(OpenAI.BadRequestError);
    const typed = failure as InstanceType<typeof OpenAI.BadRequestError>;
    expect(typed.param).toBe('model');
    expect(typed.code).toBe('model_not_supported');
    expect(typed.message).toMatch(/is a chat model: it serves \/v1\/chat\/completions, not embeddings/);
    expect(typed.message).not.toContain('detail');
    expectNoInternalNames(typed.message);
  });
});

describe('withoutInternalNames / renderError', () => {
  it('drops backend ids, URLs and host:port from an upstream message', () => {
    expect(withoutInternalNames(`pool-a-0 at http://10.0.0.7:8000/v1 via 10.0.0.7:8000 said no`, 'pool-a-0')).toBe(
      'the model server at (url) via (host) said no',
    );
  });

  it('renders 5xx and socket failures generically with the backend in a header', () => {
    const fromStatus = renderError(
      errorFromUpstreamStatus('gpu-3', 500, '{"error":{"message":"CUDA OOM on gpu-3"}}', () => null),
    );
    expect(fromStatus.status).toBe(502);
    expect(fromStatus.body.error.message).toBe('The model server failed to answer (HTTP 500).');
    expect(fromStatus.headers['x-switchyard-backend']).toBe('gpu-3');
    const socket = renderError(
      new UpstreamError('Backend gpu-3 failed: connect ECONNREFUSED 10.1.1.1:8000', 0, true, { backendId: 'gpu-3' }),
    );
    expect(socket.body.error.message).toBe('The model server could not be reached.');
  });
});
