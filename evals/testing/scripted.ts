// Scripted target and judges for the evals' tests (answers keyed by what the sample suite asks), served by the test
// kit's fake upstream as a hosted OpenAI-compatible API: real HTTP, the real openai SDK on the client side.
import {
  messageText,
  startFakeUpstream,
  type FakeReply,
  type FakeRequestBody,
  type FakeUpstream,
} from '../../core/testing/fake-upstream.ts';

/** A chat request as the scripted answers read it: every message's content as text. */
export interface FakeChatBody {
  model: string;
  messages: Array<{ role: string; content: string }>;
  [key: string]: unknown;
}

export type FakeResponder = (body: FakeChatBody, callIndex: number) => FakeReply | Promise<FakeReply>;

/** A received request body as a chat body (content parts flattened to text). */
export function chatBody(body: FakeRequestBody): FakeChatBody {
  return {
    ...body,
    model: body.model ?? '',
    messages: (body.messages ?? []).map((message) => ({ role: message.role, content: messageText(message) })),
  };
}

/** The kit's fake upstream answering every chat request with `responder` (base URL includes /v1). */
export function startScriptedOpenAI(responder: FakeResponder): Promise<FakeUpstream> {
  return startFakeUpstream({
    engine: 'openai',
    servedModel: 'fake',
    reply: (body, call) => responder(chatBody(body), call.index),
  });
}

/** The last user message of a request (what a scripted target answers to). */
export function lastUserMessage(body: FakeChatBody): string {
  return [...body.messages].reverse().find((message) => message.role === 'user')?.content ?? '';
}

/** For judge requests built from PAIRWISE_PROMPT: the two answers in presentation order. */
export function pairwiseAnswers(body: FakeChatBody): { first: string; second: string } {
  const user = body.messages.find((message) => message.role === 'user')?.content ?? '';
  const first = /\[Answer A\]\n([\s\S]*?)\n\[End of answer A\]/.exec(user)?.[1] ?? '';
  const second = /\[Answer B\]\n([\s\S]*?)\n\[End of answer B\]/.exec(user)?.[1] ?? '';
  return { first, second };
}

export function isPairwiseJudgeRequest(body: FakeChatBody): boolean {
  return body.messages.some((message) => message.content.includes('[Answer A]'));
}

export const GOOD_ANSWERS: ReadonlyArray<readonly [RegExp, string]> = [
  [/capital of France/, 'The capital of France is Paris.'],
  [
    /causes the tides/,
    'Tides are caused mainly by the gravity of the Moon pulling on the oceans. The Sun adds a smaller pull.',
  ],
  [/Ada Lovelace/, '{"name": "Ada Lovelace", "age": 36}'],
  [
    /refund after 40 days/,
    'Refunds are available within 30 days of purchase, so a refund after 40 days is not possible.',
  ],
  [/Fresnel lens/, 'The Fresnel lens is described in [d2] and [d10].'],
];

export function scriptedTarget(overrides: ReadonlyArray<readonly [RegExp, string]> = []) {
  return (body: FakeChatBody): FakeReply => {
    const question = lastUserMessage(body);
    for (const [pattern, answer] of [...overrides, ...GOOD_ANSWERS]) if (pattern.test(question)) return answer;
    return 'I do not know.';
  };
}

/** Prefers whichever answer mentions `marker`; rubric: 4 for every criterion. */
export function consistentJudge(marker = 'Paris') {
  return (body: FakeChatBody): FakeReply => {
    if (isPairwiseJudgeRequest(body)) {
      const { first, second } = pairwiseAnswers(body);
      const winner = first.includes(marker) === second.includes(marker) ? 'tie' : first.includes(marker) ? 'A' : 'B';
      return JSON.stringify({ reasoning: `looked for ${marker}`, winner });
    }
    return JSON.stringify({ reasoning: 'solid answer', scores: { relevance: 4, accuracy: 4, tone: 4 } });
  };
}

export function alwaysFirstJudge() {
  return (body: FakeChatBody): FakeReply =>
    isPairwiseJudgeRequest(body)
      ? JSON.stringify({ reasoning: 'the first one reads better', winner: 'A' })
      : JSON.stringify({ reasoning: 'fine', scores: { relevance: 5, accuracy: 5, tone: 5 } });
}
