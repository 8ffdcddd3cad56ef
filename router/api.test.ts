// The official `openai` SDK against the router in front of simulator replicas: chat (stream and not), tools, JSON
// mode, completions, models, typed SDK errors, response headers and the /health, /ready, /metrics endpoints.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_SCHEDULING, startReplicas, startTestRouter, vllmPool, type TestRouter } from './testing/harness.ts';

let harness: TestRouter;

beforeAll(async () => {
  const replicas = await startReplicas([
    { model: 'llama-3.1-8b', gpu: 'h100' },
    { model: 'llama-3.1-8b', gpu: 'h100' },
    { model: 'gpt-4o-mini', profile: 'hosted', hosted: { ttftMs: 20, msPerToken: 1, models: ['gpt-4o-mini'] } },
  ]);
  harness = await startTestRouter(
    {
      pools: [
        vllmPool('small', replicas.slice(0, 2)),
        { name: 'hosted', kind: 'openai', baseURL: `${replicas[2]!.url}/v1`, model: 'gpt-4o-mini' },
      ],
      models: [{ name: 'llama-3.1-8b', aliases: ['small'], route: ['small', 'hosted'] }],
      auto: { tiers: ['llama-3.1-8b'] },
      scheduling: FAST_SCHEDULING,
    },
    {},
    replicas,
  );
});

afterAll(async () => {
  await harness?.close();
});

describe('chat completions through the SDK', () => {
  it('answers a non-streamed chat with usage and route headers', async () => {
    const { data, response } = await harness.client.chat.completions
      .create({ model: 'small', messages: [{ role: 'user', content: 'Say hello' }], max_tokens: 8 })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(data.usage?.completion_tokens).toBe(8);
    expect(response.headers.get('x-switchyard-backend')).toMatch(/^small-[01]$/);
    expect(response.headers.get('x-switchyard-route')).toBe('primary');
    expect(response.headers.get('x-switchyard-model')).toBe('llama-3.1-8b');
    expect(Number(response.headers.get('x-switchyard-overhead-ms'))).toBeGreaterThanOrEqual(0);
    expect(response.headers.get('x-request-id')).toBeTruthy();
  });

  it('honours an incoming x-request-id', async () => {
    const { response } = await harness.client.chat.completions
      .create(
        { model: 'small', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 },
        { headers: { 'x-request-id': 'my-trace-123' } },
      )
      .withResponse();
    expect(response.headers.get('x-request-id')).toBe('my-trace-123');
  });

  it('streams chunks and strips the usage chunk the client did not ask for', async () => {
    const stream = await harness.client.chat.completions.create({
      model: 'small',
      messages: [{ role: 'user', content: 'Count to five' }],
      max_tokens: 6,
      stream: true,
    });
    let text = '';
    let sawUsage = false;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      if (chunk.usage) sawUsage = true;
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(finish).toBe('length');
    expect(sawUsage).toBe(false);
  });

  it('passes usage through when the client asks for it', async () => {
    const stream = await harness.client.chat.completions.create({
      model: 'small',
      messages: [{ role: 'user', content: 'Count to five' }],
      max_tokens: 5,
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) usage = chunk.usage ?? usage;
    expect(usage?.completion_tokens).toBe(5);
  });

  it('returns tool calls', async () => {
    const completion = await harness.client.chat.completions.create({
      model: 'small',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
          },
        },
      ],
      tool_choice: 'required',
    });
    const call = completion.choices[0]?.message.tool_calls?.[0];
    expect(call?.type).toBe('function');
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('get_weather');
    expect(typeof JSON.parse(call.function.arguments).city).toBe('string');
  });

  it('returns valid JSON in JSON mode', async () => {
    const completion = await harness.client.chat.completions.create({
      model: 'small',
      messages: [{ role: 'user', content: 'Give me a JSON object' }],
      response_format: { type: 'json_object' },
      max_completion_tokens: 64,
    });
    const content = completion.choices[0]?.message.content ?? '';
    expect(() => JSON.parse(content)).not.toThrow();
  });

  it('routes model auto through the classifier', async () => {
    const { response } = await harness.client.chat.completions
      .create({ model: 'auto', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 })
      .withResponse();
    expect(response.headers.get('x-switchyard-tier')).toBe('0');
    expect(response.headers.get('x-switchyard-model')).toBe('llama-3.1-8b');
  });
});

describe('completions, models and errors', () => {
  it('answers legacy completions, streamed and not', async () => {
    const completion = await harness.client.completions.create({
      model: 'llama-3.1-8b',
      prompt: 'Once upon',
      max_tokens: 4,
    });
    expect(completion.choices[0]?.text.length).toBeGreaterThan(0);
    const stream = await harness.client.completions.create({
      model: 'llama-3.1-8b',
      prompt: 'Once upon',
      max_tokens: 4,
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text.length).toBeGreaterThan(0);
  });

  it('lists models and aliases', async () => {
    const ids: string[] = [];
    for await (const model of harness.client.models.list()) ids.push(model.id);
    expect(ids).toEqual(['llama-3.1-8b', 'small', 'auto']);
  });

  it('raises typed SDK errors', async () => {
    await expect(
      harness.client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(
      harness.client.chat.completions.create({
        model: 'small',
        messages: [{ role: 'user', content: 'x' }],
        temperature: 7,
      }),
    ).rejects.toMatchObject({ status: 400, param: 'temperature', type: 'invalid_request_error' });
    const error = await harness.client.chat.completions
      .create({ model: 'small', messages: [] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('serves health, readiness and metrics', async () => {
    const base = harness.router.url;
    expect((await fetch(`${base}/health`)).status).toBe(200);
    const ready = (await (await fetch(`${base}/ready`)).json()) as { status: string };
    expect(ready.status).toBe('ready');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/switchyard_requests_total\{[^}]*route_reason="primary"[^}]*\} \d+/);
    // Streams and JSON answers apart in the duration histogram (the hot path's headers go straight to writeHead).
    expect(metrics).toMatch(/switchyard_request_duration_seconds_count\{[^}]*stream="true"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/switchyard_request_duration_seconds_count\{[^}]*stream="false"[^}]*\} [1-9]/);
    expect(metrics).toContain('switchyard_stage_duration_seconds_bucket{le="0.0005",stage="overhead"}');
    expect(metrics).toContain('switchyard_backend_circuit_state{backend="small-0",pool="small"} 0');
  });
});
