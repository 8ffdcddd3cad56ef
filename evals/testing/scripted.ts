// Scripted target and judges for the runner tests (answers keyed by what the sample suite asks).
import { isPairwiseJudgeRequest, lastUserMessage, pairwiseAnswers, type FakeChatBody, type FakeReply } from './fake-openai.ts';

export const GOOD_ANSWERS: ReadonlyArray<readonly [RegExp, string]> = [
  [/capital of France/, 'The capital of France is Paris.'],
  [/causes the tides/, 'Tides are caused mainly by the gravity of the Moon pulling on the oceans. The Sun adds a smaller pull.'],
  [/Ada Lovelace/, '{"name": "Ada Lovelace", "age": 36}'],
  [/refund after 40 days/, 'Refunds are available within 30 days of purchase, so a refund after 40 days is not possible.'],
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
