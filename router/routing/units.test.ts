// Small routing pieces: quality checks, backoff timing, upstream body mapping and the TTFT prediction's shape.
import { describe, expect, it } from 'vitest';
import { failedQualityCheck } from './quality.ts';
import { backoffDelayMs, retryDelayMs } from '../resilience/backoff.ts';
import { unchangedBodyText, upstreamBody } from './upstream-body.ts';
import { RetryConfig, type ModelRouteConfig, type PoolConfig } from '../config/schema.ts';

const answer = (content: string | null, finish = 'stop', extra: Record<string, unknown> = {}) => ({
  choices: [{ index: 0, message: { role: 'assistant', content, ...extra }, finish_reason: finish }],
});

describe('quality checks', () => {
  it('flags empty answers, invalid JSON when JSON was asked, and truncation without a caller limit', () => {
    expect(failedQualityCheck('chat', {}, answer(''))).toBe('empty');
    expect(failedQualityCheck('chat', {}, { choices: [] })).toBe('empty');
    expect(failedQualityCheck('chat', { response_format: { type: 'json_object' } }, answer('{"a":'))).toBe(
      'invalid_json',
    );
    expect(failedQualityCheck('chat', { response_format: { type: 'json_object' } }, answer('{"a":1}'))).toBeNull();
    expect(failedQualityCheck('chat', {}, answer('long', 'length'))).toBe('truncated');
    expect(failedQualityCheck('chat', { max_tokens: 5 }, answer('long', 'length'))).toBeNull();
    expect(failedQualityCheck('chat', {}, answer(null, 'tool_calls', { tool_calls: [{ id: 'x' }] }))).toBeNull();
    expect(failedQualityCheck('completions', {}, { choices: [{ text: 'ok', finish_reason: 'stop' }] })).toBeNull();
  });
});

describe('backoff', () => {
  const config = RetryConfig.parse({ initialDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 });
  it('doubles per retry, caps, and jitters down by at most 25 %', () => {
    expect(backoffDelayMs(1, config, () => 0)).toBe(100);
    expect(backoffDelayMs(3, config, () => 0)).toBe(400);
    expect(backoffDelayMs(10, config, () => 0)).toBe(1000);
    expect(backoffDelayMs(1, config, () => 0.999)).toBeCloseTo(75, 0);
  });
  it('uses retry-after when it is short enough, refuses to wait when it is not', () => {
    expect(retryDelayMs(1, 2000, config)).toBe(2000);
    expect(retryDelayMs(1, 60_000, config)).toBeNull();
  });
});

describe('upstream body', () => {
  const model = { name: 'llama', escalate: true } as ModelRouteConfig;
  const vllm = { kind: 'vllm', name: 'p', servedModel: 'meta/llama' } as PoolConfig;
  const hosted = { kind: 'openai', name: 'h', modelMap: { llama: 'gpt-4o-mini' } } as unknown as PoolConfig;

  it("hands on the client's text only for a body upstreamBody left as it was", () => {
    const plainPool = { kind: 'vllm', name: 'q' } as PoolConfig;
    const text = '{"model":"llama","messages":[]}';
    const client = { model: 'llama', messages: [] };
    const same = upstreamBody('chat', client, { model, pool: plainPool }, 'vllm');
    expect(unchangedBodyText(client, same, text, undefined)).toBe(text);
    expect(unchangedBodyText(client, same, undefined, undefined)).toBeUndefined();
    const renamed = upstreamBody('chat', client, { model, pool: vllm }, 'vllm');
    expect(unchangedBodyText(client, renamed, text, undefined)).toBeUndefined();
    const continued = { prefix: 'Hel', emittedTokens: 3 };
    const withPrefix = upstreamBody('chat', client, { model, pool: plainPool }, 'vllm', continued);
    expect(unchangedBodyText(client, withPrefix, text, continued)).toBeUndefined();
    const streamed = { ...client, stream: true };
    const withUsage = upstreamBody('chat', streamed, { model, pool: plainPool }, 'vllm');
    expect(unchangedBodyText(streamed, withUsage, text, undefined)).toBeUndefined();
  });

  it('maps the model, forces usage on streams and keeps unknown fields', () => {
    const body = { model: 'small', stream: true, top_k: 3, stream_options: { include_usage: false }, messages: [] };
    expect(upstreamBody('chat', body, { model, pool: vllm }, 'vllm')).toMatchObject({
      model: 'meta/llama',
      top_k: 3,
      stream_options: { include_usage: true },
    });
    expect(upstreamBody('chat', { model: 'small' }, { model, pool: hosted }, 'openai')['model']).toBe('gpt-4o-mini');
    expect(body.stream_options.include_usage).toBe(false);
  });

  it('adds the partial answer as an assistant prefix for a continuation', () => {
    const body = { model: 'small', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 };
    const vllmBody = upstreamBody('chat', body, { model, pool: vllm }, 'vllm', { prefix: 'Hel', emittedTokens: 3 });
    expect(vllmBody['messages']).toEqual([...body.messages, { role: 'assistant', content: 'Hel' }]);
    expect(vllmBody).toMatchObject({ continue_final_message: true, add_generation_prompt: false, max_tokens: 7 });
    const hostedBody = upstreamBody('chat', body, { model, pool: hosted }, 'openai', {
      prefix: 'Hel',
      emittedTokens: 3,
    });
    expect(hostedBody['continue_final_message']).toBeUndefined();
    const completion = upstreamBody('completions', { model: 'x', prompt: 'Once' }, { model, pool: vllm }, 'vllm', {
      prefix: ' upon',
      emittedTokens: 1,
    });
    expect(completion['prompt']).toBe('Once upon');
  });
});
