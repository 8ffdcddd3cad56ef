// The official openai SDK against a simulated vLLM replica: everything parses with no special handling.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimReplica, startSimReplica } from './index.ts';
import { chatPromptTokens, countTokens } from './tokenizer.ts';

let replica: SimReplica;
let client: OpenAI;

beforeAll(async () => {
  replica = await startSimReplica({ model: 'llama-3.1-8b', gpu: 'h100', speed: 200, maxModelLen: 8192 });
  client = new OpenAI({ baseURL: `${replica.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(async () => {
  await replica.close();
});

const messages = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: 'Name three rivers.' },
];

describe('openai SDK against the simulator', () => {
  it('lists the served model like vLLM', async () => {
    const models = await client.models.list();
    expect(models.data.map((model) => model.id)).toEqual(['llama-3.1-8b']);
    expect(models.data[0]?.owned_by).toBe('vllm');
  });

  it('chat non-stream: text, finish reason and exact usage', async () => {
    const completion = await client.chat.completions.create({
      model: 'llama-3.1-8b',
      messages,
      max_tokens: 40,
      temperature: 0.7,
    });
    const choice = completion.choices[0];
    expect(completion.object).toBe('chat.completion');
    expect(choice?.message.role).toBe('assistant');
    const content = choice?.message.content ?? '';
    expect(content.length).toBeGreaterThan(0);
    expect(completion.usage?.completion_tokens).toBe(countTokens(content));
    expect(completion.usage?.prompt_tokens).toBe(chatPromptTokens(messages).length);
    expect(completion.usage?.total_tokens).toBe(
      (completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0),
    );
    expect(['stop', 'length']).toContain(choice?.finish_reason);
  });

  it('is deterministic per request and honours max_tokens exactly', async () => {
    const body = { model: 'llama-3.1-8b', messages, max_tokens: 25, ignore_eos: true } as const;
    const [a, b] = await Promise.all([client.chat.completions.create(body), client.chat.completions.create(body)]);
    expect(a.choices[0]?.message.content).toBe(b.choices[0]?.message.content);
    expect(a.usage?.completion_tokens).toBe(25);
    expect(a.choices[0]?.finish_reason).toBe('length');
  });

  it('chat stream: role chunk, one chunk per token, usage chunk and [DONE]', async () => {
    const stream = await client.chat.completions.create({
      model: 'llama-3.1-8b',
      messages,
      max_completion_tokens: 30,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let contentChunks = 0;
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    let first = true;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      if (first) expect(chunk.choices[0]?.delta.role).toBe('assistant');
      first = false;
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (!choice) continue;
      if (choice.delta.content) {
        text += choice.delta.content;
        contentChunks++;
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    expect(finish).not.toBeNull();
    expect(usage?.completion_tokens).toBe(contentChunks);
    expect(countTokens(text)).toBe(contentChunks);
  });

  it('completions, stream and non-stream', async () => {
    const completion = await client.completions.create({
      model: 'llama-3.1-8b',
      prompt: 'Once upon a time',
      max_tokens: 12,
      ignore_eos: true,
    } as OpenAI.CompletionCreateParamsNonStreaming);
    expect(completion.object).toBe('text_completion');
    expect(completion.usage?.completion_tokens).toBe(12);
    expect(completion.usage?.prompt_tokens).toBe(countTokens('Once upon a time') + 1);
    const stream = await client.completions.create({
      model: 'llama-3.1-8b',
      prompt: 'Once upon a time',
      max_tokens: 12,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(usage?.completion_tokens).toBe(countTokens(text));
  });

  it('forced tool call (named and required) with arguments that follow the schema', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          parameters: {
            type: 'object',
            properties: {
              city: { type: 'string' },
              unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
              days: { type: 'integer', minimum: 1, maximum: 7 },
            },
            required: ['city', 'unit'],
          },
        },
      },
    ];
    const named = await client.chat.completions.create({
      model: 'llama-3.1-8b',
      messages,
      tools,
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    const call = named.choices[0]?.message.tool_calls?.[0];
    expect(call?.type).toBe('function');
    if (call?.type !== 'function') throw new Error('no function call');
    expect(call.function.name).toBe('get_weather');
    const args = JSON.parse(call.function.arguments) as { city: unknown; unit: unknown; days: unknown };
    expect(typeof args.city).toBe('string');
    expect(args.unit).toBe('celsius');
    expect(Number.isInteger(args.days) && (args.days as number) >= 1 && (args.days as number) <= 7).toBe(true);

    const required = await client.chat.completions.create({
      model: 'llama-3.1-8b',
      messages,
      tools,
      tool_choice: 'required',
      stream: true,
    });
    let name = '';
    let argumentsText = '';
    let finish: string | null = null;
    for await (const chunk of required) {
      const delta = chunk.choices[0]?.delta.tool_calls?.[0];
      if (delta?.function?.name) name = delta.function.name;
      argumentsText += delta?.function?.arguments ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(name).toBe('get_weather');
    expect(finish).toBe('tool_calls');

    const auto = await client.chat.completions.create(
      { model: 'llama-3.1-8b', messages, tools },
      { headers: { 'x-sim-tool-call': 'get_weather' } },
    );
    expect(auto.choices[0]?.finish_reason).toBe('tool_calls');
    expect(auto.choices[0]?.message.tool_calls?.[0]?.id).toMatch(/^chatcmpl-tool-/);
    const plain = await client.chat.completions.create({ model: 'llama-3.1-8b', messages, tools, max_tokens: 5 });
    expect(plain.choices[0]?.message.tool_calls ?? []).toEqual([]);
    expect(() => JSON.parse(argumentsText) as unknown).not.toThrow();
  });

  it('JSON mode and JSON schema return valid JSON', async () => {
    const object = await client.chat.completions.create({
      model: 'llama-3.1-8b',
      messages,
      response_format: { type: 'json_object' },
    });
    expect(typeof JSON.parse(object.choices[0]?.message.content ?? '')).toBe('object');
    const schema = {
      type: 'object',
      properties: {
        title: { type: 'string' },
        year: { type: 'integer', minimum: 1900, maximum: 2030 },
        tags: { type: 'array', items: { type: 'string' } },
        ok: { type: 'boolean' },
      },
      required: ['title', 'year', 'tags', 'ok'],
    };
    const structured = await client.chat.completions.create({
      model: 'llama-3.1-8b',
      messages,
      response_format: { type: 'json_schema', json_schema: { name: 'film', schema } },
    });
    const value = JSON.parse(structured.choices[0]?.message.content ?? '') as {
      title: unknown;
      year: number;
      tags: unknown[];
      ok: unknown;
    };
    expect(typeof value.title).toBe('string');
    expect(value.year).toBeGreaterThanOrEqual(1900);
    expect(value.year).toBeLessThanOrEqual(2030);
    expect(Array.isArray(value.tags) && value.tags.every((tag) => typeof tag === 'string')).toBe(true);
    expect(typeof value.ok).toBe('boolean');
  });

  it('scripted and echo answers say exactly what was asked, token by token', async () => {
    const script = 'Hello, world! Ünïcode ✓ works.';
    const stream = await client.chat.completions.create(
      { model: 'llama-3.1-8b', messages, stream: true, stream_options: { include_usage: true } },
      { headers: { 'x-sim-response': encodeURIComponent(script) } },
    );
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(script);
    expect(usage?.completion_tokens).toBe(countTokens(script));
    const echo = await client.chat.completions.create(
      { model: 'llama-3.1-8b', messages },
      { headers: { 'x-sim-mode': 'echo' } },
    );
    expect(echo.choices[0]?.message.content).toBe('Name three rivers.');
  });

  it('x-sim-timings SSE comments are invisible to the SDK', async () => {
    const stream = await client.chat.completions.create(
      { model: 'llama-3.1-8b', messages, max_tokens: 8, stream: true, stream_options: { include_usage: true } },
      { headers: { 'x-sim-timings': '1' } },
    );
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      chunks++;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    expect(chunks).toBe((usage?.completion_tokens ?? 0) + 2); // role chunk + tokens + usage chunk
    const raw = await fetch(`${replica.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sim-timings': '1' },
      body: JSON.stringify({ prompt: 'hi', max_tokens: 3, stream: true }),
    });
    const times = [...(await raw.text()).matchAll(/^: sim arrival=([\d.]+) t=([\d.]+)$/gm)].map(
      (match) => Number(match[2]) - Number(match[1]),
    );
    expect(times.length).toBeGreaterThanOrEqual(3);
    expect(times.every((time, index) => time > 0 && (index === 0 || time >= (times[index - 1] ?? 0)))).toBe(true);
  });

  it('logprobs: one entry per token, deterministic, with the requested alternatives', async () => {
    const body = { model: 'llama-3.1-8b', messages, max_tokens: 6, logprobs: true, top_logprobs: 3 } as const;
    const [a, b] = await Promise.all([client.chat.completions.create(body), client.chat.completions.create(body)]);
    const content = a.choices[0]?.logprobs?.content ?? [];
    expect(content).toHaveLength(a.usage?.completion_tokens ?? -1);
    expect(content.map((entry) => entry.token).join('')).toBe(a.choices[0]?.message.content);
    expect(content.every((entry) => entry.logprob <= 0 && entry.top_logprobs.length === 3)).toBe(true);
    expect(b.choices[0]?.logprobs?.content).toEqual(content);
    const completion = await client.completions.create({
      model: 'llama-3.1-8b',
      prompt: 'Say',
      max_tokens: 4,
      logprobs: 2,
    });
    expect(completion.choices[0]?.logprobs?.tokens?.join('')).toBe(completion.choices[0]?.text);
    expect(completion.choices[0]?.logprobs?.top_logprobs?.[0]).toBeDefined();
  });

  it('stop strings end the answer before the stop text', async () => {
    const completion = await client.chat.completions.create(
      { model: 'llama-3.1-8b', messages, stop: ['STOP'] },
      { headers: { 'x-sim-response': encodeURIComponent('one two STOP three') } },
    );
    expect(completion.choices[0]?.message.content).toBe('one two ');
    expect(completion.choices[0]?.finish_reason).toBe('stop');
  });
});
