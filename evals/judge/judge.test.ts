// The judge over real HTTP: the openai SDK against the scripted fake OpenAI-compatible server.
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryResponseCache } from '../runner/cache.ts';
import { OpenAIChatClient } from '../runner/openai-client.ts';
import type { FakeUpstream } from '../../core/testing/fake-upstream.ts';
import {
  chatBody,
  isPairwiseJudgeRequest,
  pairwiseAnswers,
  startScriptedOpenAI,
  type FakeResponder,
} from '../testing/scripted.ts';
import { foldPairwise, LlmJudge } from './judge.ts';
import { parseStructured, repairCandidates } from './structured.ts';

let server: FakeUpstream | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function judgeWith(responder: FakeResponder, maxRetries = 2) {
  server = await startScriptedOpenAI(responder);
  const client = new OpenAIChatClient({ baseURL: server.baseURL, cache: new MemoryResponseCache(), maxRetries: 0 });
  return new LlmJudge({ client, model: 'judge-model', maxRetries, responseFormat: 'json_schema' });
}

const verdict = (winner: string) => JSON.stringify({ reasoning: 'compared both', winner });

describe('pairwise judge, both orders', () => {
  it('a judge that always prefers the first answer gets only ties and a 100% flip rate', async () => {
    const judge = await judgeWith(() => verdict('A'));
    const outcomes = await Promise.all(
      ['x', 'y', 'z'].map((id) =>
        judge.pairwise({ question: `q ${id}`, candidate: 'good', other: 'bad', criteria: 'c' }, 0),
      ),
    );
    expect(outcomes.map((outcome) => outcome.result)).toEqual(['tie', 'tie', 'tie']);
    expect(outcomes.every((outcome) => outcome.flipped)).toBe(true);
    expect(server?.requestCount()).toBe(6);
  });

  it('a consistent judge keeps its verdict in both directions', async () => {
    const judge = await judgeWith((body) => {
      const { first } = pairwiseAnswers(body);
      return verdict(first.includes('correct') ? 'A' : 'B');
    });
    const win = await judge.pairwise(
      { question: 'q', candidate: 'the correct answer', other: 'nonsense', criteria: 'c' },
      0,
    );
    expect(win).toMatchObject({ result: 'candidate', flipped: false });
    const loss = await judge.pairwise(
      { question: 'q', candidate: 'nonsense', other: 'the correct answer', criteria: 'c' },
      0,
    );
    expect(loss).toMatchObject({ result: 'other', flipped: false });
  });

  it('sends the schema as response_format and shows the candidate in both positions', async () => {
    const judge = await judgeWith(() => verdict('tie'));
    await judge.pairwise({ question: 'q', candidate: 'CAND', other: 'OTHER', criteria: 'c' }, 0);
    const requests = (server?.requests ?? []).map(chatBody);
    expect(requests.every(isPairwiseJudgeRequest)).toBe(true);
    expect(requests.map((request) => pairwiseAnswers(request).first).sort()).toEqual(['CAND', 'OTHER']);
    expect(requests[0]?.['response_format']).toMatchObject({
      type: 'json_schema',
      json_schema: { name: 'pairwise_verdict' },
    });
    expect(requests[0]?.['temperature']).toBe(0);
  });

  it('folds verdicts: tie vs win is a flip', () => {
    expect(foldPairwise({ winner: 'A', reasoning: '' }, { winner: 'B', reasoning: '' }, false)).toMatchObject({
      result: 'candidate',
      flipped: false,
    });
    expect(foldPairwise({ winner: 'tie', reasoning: '' }, { winner: 'B', reasoning: '' }, false)).toMatchObject({
      result: 'tie',
      flipped: true,
    });
    expect(foldPairwise({ winner: 'tie', reasoning: '' }, { winner: 'tie', reasoning: '' }, false)).toMatchObject({
      result: 'tie',
      flipped: false,
    });
  });
});

describe('judge output validation, repair and retry', () => {
  it('repairs fences, prose, trailing commas and "Answer a" without another call', async () => {
    const judge = await judgeWith((_body, index) =>
      index % 2 === 0
        ? 'Sure! ```json\n{"reasoning": "A is right", "winner": "answer a",}\n```'
        : 'My verdict: {"reasoning": "B is wrong", "winner": "B"} hope that helps',
    );
    const outcome = await judge.pairwise({ question: 'q', candidate: 'c', other: 'o', criteria: 'c' }, 0);
    expect(server?.requestCount()).toBe(2);
    expect(outcome.candidateFirst.winner === 'A' || outcome.candidateSecond.winner === 'A').toBe(true);
  });

  it('retries with the validation error when the reply cannot be repaired, then succeeds', async () => {
    const judge = await judgeWith((body) => {
      const retried = body.messages.some((message) => message.content.startsWith('Your reply was not valid'));
      return retried
        ? JSON.stringify({ reasoning: 'fine', scores: { relevance: '4', accuracy: 5, tone: 3 } })
        : 'I think it is good.';
    });
    const outcome = await judge.rubric(
      {
        question: 'q',
        answer: 'a',
        criteria: [
          { name: 'relevance', description: 'r' },
          { name: 'accuracy', description: 'a' },
          { name: 'tone', description: 't' },
        ],
      },
      0,
    );
    expect(outcome.scores).toEqual({ relevance: 4, accuracy: 5, tone: 3 });
    expect(server?.requestCount()).toBe(2);
    const retry = server?.requests[1] && chatBody(server.requests[1]);
    expect(retry?.messages.at(-2)).toMatchObject({ role: 'assistant', content: 'I think it is good.' });
    expect(retry?.messages.at(-1)?.content).toMatch(/no JSON object found|not JSON/);
  });

  it('fails clearly (JudgeOutputError) after the bounded retries, never hangs or crashes', async () => {
    const judge = await judgeWith(() => '{"reasoning": "x", "winner": "C"}', 2);
    await expect(judge.pairwise({ question: 'q', candidate: 'c', other: 'o', criteria: 'c' }, 0)).rejects.toMatchObject(
      {
        name: 'JudgeOutputError',
        code: 'judge_output_invalid',
        attempts: 3,
        message: expect.stringMatching(
          /after 3 attempt\(s\): schema violations: \/winner must be equal to one of the allowed values/,
        ),
      },
    );
    expect(server?.requestCount()).toBe(6);
  });

  it('rubric scores outside 1..5 are schema violations', () => {
    const schema = {
      type: 'object',
      properties: {
        scores: {
          type: 'object',
          properties: { tone: { type: 'integer', minimum: 1, maximum: 5 } },
          required: ['tone'],
        },
      },
      required: ['scores'],
    };
    expect(parseStructured('{"scores": {"tone": 9}}', schema)).toMatchObject({
      ok: false,
      error: expect.stringContaining('must be <= 5'),
    });
    expect(parseStructured('{"scores": {"tone": 2}}', schema)).toMatchObject({ ok: true, repaired: false });
    expect(repairCandidates('“hi”')).toContain('"hi"');
  });

  it('cached judge calls are not repeated', async () => {
    server = await startScriptedOpenAI(() => verdict('tie'));
    const cache = new MemoryResponseCache();
    const make = () =>
      new LlmJudge({
        client: new OpenAIChatClient({ baseURL: server?.baseURL ?? '', cache, maxRetries: 0 }),
        model: 'judge-model',
      });
    await make().pairwise({ question: 'q', candidate: 'c', other: 'o', criteria: 'c' }, 0);
    const again = await make().pairwise({ question: 'q', candidate: 'c', other: 'o', criteria: 'c' }, 0);
    expect(again.cached).toBe(true);
    expect(server.requestCount()).toBe(2);
    // Another repeat index is another cache key.
    await make().pairwise({ question: 'q', candidate: 'c', other: 'o', criteria: 'c' }, 1);
    expect(server.requestCount()).toBe(4);
  });
});
