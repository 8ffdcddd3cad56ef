// The chat-extension hook's pieces without a server: the gate in front of the retrieval service, the non-stream
// `citations` field and the stream trailer composed with (governance's) relay hooks.
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { StreamChunk } from '../backends/contracts.ts';
import type { RelayGovernanceHooks } from '../governance/router-adapter.ts';
import {
  attachCitations,
  prepareRetrievalChat,
  withCitationTrailer,
  type CitationsPayload,
  type PreparedRagChat,
} from './chat.ts';

function prepared(): PreparedRagChat & { answers: Array<string | null> } {
  const answers: Array<string | null> = [];
  return {
    answers,
    body: { model: 'm', messages: [] },
    citations(answer): CitationsPayload {
      answers.push(answer);
      return {
        index: 'docs',
        mode: 'rerank',
        warnings: [],
        sources: [{ marker: '[1]' }],
        checks: [],
        valid: true,
        few_shot: [],
      };
    },
  };
}

const chunk = (content: string, extra: Record<string, unknown> = {}): StreamChunk => ({
  id: 'c1',
  object: 'chat.completion.chunk',
  created: 7,
  model: 'm',
  choices: [{ index: 0, delta: { content } }],
  ...extra,
});

function fakeResponse(): ServerResponse & { written: string[] } {
  const written: string[] = [];
  return { written, write: (line: string) => written.push(line) > 0 } as unknown as ServerResponse & {
    written: string[];
  };
}

describe('prepareRetrievalChat', () => {
  it('passes bodies without extensions through and refuses extensions it cannot serve', async () => {
    const service = { prepare: async () => prepared() };
    expect(await prepareRetrievalChat(service, 'chat', { model: 'm', messages: [] })).toBeUndefined();
    expect(await prepareRetrievalChat(undefined, 'chat', { model: 'm' })).toBeUndefined();
    expect(await prepareRetrievalChat(service, 'chat', { rag: {} })).toMatchObject({ body: { model: 'm' } });
    await expect(prepareRetrievalChat(undefined, 'chat', { rag: {} })).rejects.toMatchObject({
      status: 400,
      code: 'retrieval_disabled',
      param: 'rag',
    });
    await expect(prepareRetrievalChat(service, 'completions', { few_shot: {} })).rejects.toMatchObject({
      status: 400,
      param: 'few_shot',
    });
  });
});

describe('citations on the answer', () => {
  it('non-stream: a top-level field checked against the first choice', () => {
    const rag = prepared();
    const body: Record<string, unknown> = {
      choices: [{ index: 0, message: { role: 'assistant', content: 'Yes [1].' } }],
    };
    attachCitations(body, rag);
    expect(rag.answers).toEqual(['Yes [1].']);
    expect(body['citations']).toMatchObject({ index: 'docs', sources: [{ marker: '[1]' }] });
    const untouched: Record<string, unknown> = { choices: [] };
    attachCitations(untouched, undefined);
    expect(untouched).not.toHaveProperty('citations');
  });

  it('stream: wraps the inner hooks, sees only what the client saw, writes the trailer before theirs', () => {
    const calls: string[] = [];
    const inner: RelayGovernanceHooks = {
      headers: (base) => ({ ...base, inner: '1' }),
      // Holds back chunks containing "held" (like a guardrail window), releases them at flush.
      transform: (value) => (JSON.stringify(value).includes('held') ? null : value),
      stop: () => false,
      flush: () => [chunk(' released')],
      continued: () => calls.push('continued'),
      beforeDone: (response) => {
        calls.push('inner.beforeDone');
        response.write(': cost\n\n');
      },
      finalize: async () => {
        calls.push('finalize');
      },
    };
    const rag = prepared();
    const hooks = withCitationTrailer(inner, rag);
    if (!hooks) throw new Error('expected hooks');
    expect(hooks.headers({ a: 'b' })).toEqual({ a: 'b', inner: '1' });
    expect(hooks.transform(chunk('Hello'))).not.toBeNull();
    expect(hooks.transform(chunk(' held'))).toBeNull();
    expect(
      hooks.transform(chunk(' other', { choices: [{ index: 1, delta: { content: 'second choice' } }] })),
    ).not.toBeNull();
    expect(hooks.flush()).toHaveLength(1);
    hooks.continued();
    const response = fakeResponse();
    hooks.beforeDone(response, undefined, { pool: 'p', backendId: 'b' });
    void hooks.finalize(undefined, { pool: 'p', backendId: 'b' }, 'ok');
    expect(rag.answers).toEqual(['Hello released']);
    expect(calls).toEqual(['continued', 'inner.beforeDone', 'finalize']);
    expect(response.written).toHaveLength(2);
    const trailer = JSON.parse(response.written[0]!.replace(/^data: /, '')) as Record<string, unknown>;
    expect(trailer).toMatchObject({
      id: 'c1',
      created: 7,
      model: 'm',
      object: 'chat.completion.chunk',
      choices: [],
      citations: { index: 'docs' },
    });
    expect(response.written[1]).toBe(': cost\n\n');
  });

  it('stream without governance: pass-through hooks, only when the request used rag', () => {
    expect(withCitationTrailer(undefined, undefined)).toBeUndefined();
    const hooks = withCitationTrailer(undefined, prepared());
    const value = chunk('x');
    expect(hooks?.transform(value)).toBe(value);
    expect(hooks?.headers({ a: 'b' })).toEqual({ a: 'b' });
    expect(hooks?.stop()).toBe(false);
    expect(hooks?.flush()).toEqual([]);
  });
});
