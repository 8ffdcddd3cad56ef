// The hosted profile: OpenAI's API shape, Bearer key, fixed per-token latency, no vLLM metrics.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimReplica, startSimReplica } from './index.ts';

let replica: SimReplica;
beforeAll(async () => {
  replica = await startSimReplica({
    model: 'gpt-4o-mini',
    profile: 'hosted',
    apiKey: 'sk-test-123456789',
    speed: 50,
    hosted: { models: ['gpt-4o-mini', 'gpt-4o'], ttftMs: 200, msPerToken: 10 },
  });
});
afterAll(async () => {
  await replica.close();
});

describe('hosted profile', () => {
  it('rejects a missing or wrong key with OpenAI’s 401', async () => {
    const wrong = new OpenAI({ baseURL: `${replica.url}/v1`, apiKey: 'sk-wrong-000000000', maxRetries: 0 });
    const error = await wrong.models.list().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');
    const bare = await fetch(`${replica.url}/v1/models`);
    expect(bare.status).toBe(401);
    const body = (await bare.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toMatch(/didn't provide an API key/);
  });

  it('serves the configured model names and no /metrics', async () => {
    const client = new OpenAI({ baseURL: `${replica.url}/v1`, apiKey: 'sk-test-123456789', maxRetries: 0 });
    const models = await client.models.list();
    expect(models.data.map((model) => model.id)).toEqual(['gpt-4o-mini', 'gpt-4o']);
    expect((await fetch(`${replica.url}/metrics`)).status).toBe(404);
    const missing = await client.chat.completions
      .create({ model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] })
      .catch((caught: unknown) => caught);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect((missing as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
  });

  it('streams with usage and a fixed per-token latency', async () => {
    const client = new OpenAI({ baseURL: `${replica.url}/v1`, apiKey: 'sk-test-123456789', maxRetries: 0 });
    const started = performance.now();
    // ignore_eos is a vLLM-style extra the simulator honours (it pins the output length).
    const params = {
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hello' }],
      max_tokens: 50,
      stream: true,
      stream_options: { include_usage: true },
      ignore_eos: true,
    } as OpenAI.ChatCompletionCreateParamsStreaming;
    const stream = await client.chat.completions.create(params);
    let firstAt = 0;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      if (!firstAt && chunk.choices[0]?.delta.content) firstAt = performance.now();
      if (chunk.usage) usage = chunk.usage;
    }
    const ended = performance.now();
    expect(usage?.completion_tokens).toBe(50);
    // 200 ms TTFT and 49 × 10 ms at speed 50: 4 ms then ~10 ms of streaming (generous bounds for a loaded host).
    expect(ended - started).toBeGreaterThan(10);
    expect(ended - started).toBeLessThan(2000);
    expect(firstAt).toBeGreaterThan(0);
  });
});
