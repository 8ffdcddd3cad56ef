// The per-chunk rewrite of the SSE relay: usage stripped unless asked for, continuation chunks keep the first
// stream's id and drop their repeated role delta, and the partial text is tracked for a continuation.
import { describe, expect, it } from 'vitest';
import { RAW_JSON } from '../backends/contracts.ts';
import { prepareChunk, type StreamState } from './relay.ts';

function freshState(): StreamState {
  return {
    id: undefined,
    created: undefined,
    text: '',
    emittedTokens: 0,
    sawToolCalls: false,
    multipleChoices: false,
    usage: undefined,
    priorCompletionTokens: 0,
  };
}

const chunk = (content: string | undefined, extra: Record<string, unknown> = {}) => ({
  id: 'a',
  created: 1,
  object: 'chat.completion.chunk',
  choices: [{ index: 0, delta: content === undefined ? {} : { content }, finish_reason: null }],
  usage: null,
  ...extra,
});

describe('prepareChunk', () => {
  it('strips usage the client did not ask for but keeps it in the state', () => {
    const state = freshState();
    const line = prepareChunk(chunk('Hi'), state, false, false);
    expect(line).not.toContain('usage');
    const usageOnly = { id: 'a', choices: [], usage: { prompt_tokens: 3, completion_tokens: 1 } };
    expect(prepareChunk(usageOnly, state, false, false)).toBeNull();
    expect(state.usage).toEqual({ prompt_tokens: 3, completion_tokens: 1 });
    expect(state.text).toBe('Hi');
  });

  it('passes usage through when asked', () => {
    const state = freshState();
    const line = prepareChunk(
      { id: 'a', choices: [], usage: { prompt_tokens: 3, completion_tokens: 1 } },
      state,
      true,
      false,
    );
    expect(line).toContain('"completion_tokens":1');
  });

  it('rewrites continuation chunks to the original id and drops the repeated role delta', () => {
    const state = freshState();
    prepareChunk(chunk('Hello'), state, false, false);
    const roleOnly = {
      ...chunk(''),
      id: 'b',
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
    };
    expect(prepareChunk(roleOnly, state, false, true)).toBeNull();
    const line = prepareChunk({ ...chunk(' world'), id: 'b', created: 99 }, state, false, true);
    expect(JSON.parse(line!.slice(6))).toMatchObject({ id: 'a', created: 1 });
    expect(state.text).toBe('Hello world');
    expect(state.emittedTokens).toBe(2);
  });

  it('adds the broken segments’ tokens to a continued stream’s usage', () => {
    const state = freshState();
    state.priorCompletionTokens = 5;
    const line = prepareChunk(
      { id: 'b', choices: [], usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 } },
      state,
      true,
      true,
    );
    expect(JSON.parse(line!.slice(6)).usage).toMatchObject({ completion_tokens: 8, total_tokens: 18 });
  });

  it('forwards the upstream text as it was when nothing changes, re-serialises when something does', () => {
    const state = freshState();
    const raw = '{"id":"a", "choices":[{"index":0,"delta":{"content":"x"}}]}';
    const parsed = { ...(JSON.parse(raw) as Record<string, unknown>), [RAW_JSON]: raw };
    expect(prepareChunk(parsed, state, false, false)).toBe(`data: ${raw}\n\n`);
    const withUsage = { ...(JSON.parse(raw) as Record<string, unknown>), usage: null, [RAW_JSON]: raw };
    expect(prepareChunk(withUsage, state, false, false)).toBe(
      `data: {"id":"a","choices":[{"index":0,"delta":{"content":"x"}}]}\n\n`,
    );
  });

  it('notices tool calls and legacy completion text', () => {
    const state = freshState();
    prepareChunk({ id: 'a', choices: [{ index: 0, delta: { tool_calls: [{ index: 0 }] } }] }, state, false, false);
    expect(state.sawToolCalls).toBe(true);
    const legacy = freshState();
    prepareChunk({ id: 'c', object: 'text_completion', choices: [{ index: 0, text: 'abc' }] }, legacy, false, false);
    expect(legacy.text).toBe('abc');
  });
});
