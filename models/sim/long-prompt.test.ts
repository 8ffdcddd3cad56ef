// Prompts far over the context (a 5 MiB chat body, ~1.7M tokens; ~150k tokens on the hosted profile) get the 400
// vLLM / OpenAI give, not a 500 "Maximum call stack size exceeded"; and an answer without max_tokens ends at a sampled
// end-of-sequence length bounded by what is left of the context, as a real model's does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimReplica, type SimReplica } from './index.ts';

let vllm: SimReplica;
let hosted: SimReplica;

beforeAll(async () => {
  vllm = await startSimReplica({ model: 'llama-3.1-8b', gpu: 'h100', speed: 200, maxModelLen: 4096 });
  hosted = await startSimReplica({
    profile: 'hosted',
    model: 'gpt-4o-mini',
    hosted: { models: ['gpt-4o-mini'] },
    speed: 200,
  });
});
afterAll(async () => {
  await vllm?.close();
  await hosted?.close();
});

interface Answer {
  error: { message: string; type: string; code: string | null };
  usage: { prompt_tokens: number; completion_tokens: number };
  choices: Array<{ finish_reason: string }>;
}

async function chat(url: string, body: Record<string, unknown>): Promise<{ status: number; json: Answer }> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Answer };
}

describe('prompts over the context', () => {
  it('vllm profile: a 5 MiB chat body → 400 naming the context length', async () => {
    const { status, json } = await chat(vllm.url, {
      model: 'llama-3.1-8b',
      messages: [{ role: 'user', content: 'ab '.repeat((5 * 1024 * 1024) / 3) }],
    });
    expect(status).toBe(400);
    expect(json.error.message).toMatch(/maximum context length is 4096 tokens/);
  });

  it('hosted profile: ~150k tokens → 400 context_length_exceeded', async () => {
    const { status, json } = await chat(hosted.url, {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'ab '.repeat(150_000) }],
    });
    expect(status).toBe(400);
    expect(json.error).toMatchObject({ type: 'invalid_request_error', code: 'context_length_exceeded' });
  });
});

describe('answers without max_tokens', () => {
  it('stop at a sampled end-of-sequence length within the context left', async () => {
    const lengths: number[] = [];
    for (let attempt = 0; attempt < 8; attempt++) {
      const { status, json } = await chat(vllm.url, {
        model: 'llama-3.1-8b',
        messages: [{ role: 'user', content: `question ${attempt}: ${'words '.repeat(3_000)}` }],
      });
      expect(status).toBe(200);
      expect(json.usage.prompt_tokens + json.usage.completion_tokens).toBeLessThanOrEqual(4096);
      expect(['stop', 'length']).toContain(json.choices[0]!.finish_reason);
      lengths.push(json.usage.completion_tokens);
    }
    expect(new Set(lengths).size).toBeGreaterThan(1);
  });
});
