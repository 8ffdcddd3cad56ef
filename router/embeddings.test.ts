// POST /v1/embeddings is validated and forwarded along the model's route; the upstream answer comes back as it was.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../core/testing/fake-upstream.ts';
import { startTestRouter, type TestRouter } from './testing/harness.ts';

let upstream: FakeUpstream;
let harness: TestRouter;

beforeAll(async () => {
  upstream = await startFakeUpstream({ model: 'embedder' });
  harness = await startTestRouter({
    pools: [{ name: 'embed', kind: 'vllm', model: 'llama-3.1-8b', gpu: 'h100', backends: [{ url: upstream.url }] }],
    models: [{ name: 'embedder', route: ['embed'] }],
  });
});

afterAll(async () => {
  await harness?.close();
  await upstream?.close();
});

describe('embeddings', () => {
  it('forwards a batch and returns the vectors', async () => {
    const { data, response } = await harness.client.embeddings
      .create({ model: 'embedder', input: ['abc', 'hello'], encoding_format: 'float' })
      .withResponse();
    expect(data.data.map((item) => item.embedding[0])).toEqual([3, 5]);
    expect(response.headers.get('x-switchyard-backend')).toBe('embed-0');
  });

  it('validates input and the model', async () => {
    await expect(harness.client.embeddings.create({ model: 'embedder', input: [] })).rejects.toBeInstanceOf(
      OpenAI.BadRequestError,
    );
    await expect(harness.client.embeddings.create({ model: 'nope', input: 'x' })).rejects.toBeInstanceOf(
      OpenAI.NotFoundError,
    );
  });
});
