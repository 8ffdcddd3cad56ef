// Deterministic, plausible log-probabilities for the tokens a request generates (when `logprobs` is asked for):
// the chosen token gets a seeded logprob in (-2, 0]; alternatives get lower ones. Shapes follow OpenAI/vLLM.
import { createRandom } from './tokenizer.ts';

const ALTERNATIVES = [
  ' the',
  ' a',
  ' and',
  ' of',
  ' to',
  ' in',
  ',',
  '.',
  ' is',
  ' that',
  ' it',
  ' for',
  ' on',
  ' with',
  ' as',
  ' was',
  ' be',
  ' at',
  ' by',
  ' this',
];

export interface TokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

const round = (value: number): number => Math.round(value * 1e4) / 1e4;
const bytesOf = (text: string): number[] => Array.from(new TextEncoder().encode(text));

export function tokenLogprob(seed: number, index: number, token: string, top: number): TokenLogprob {
  const random = createRandom((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const logprob = round(-2 * random() ** 3);
  const alternatives: TokenLogprob['top_logprobs'] = [{ token, logprob, bytes: bytesOf(token) }];
  let next = logprob;
  for (let rank = 1; rank < top; rank++) {
    next = round(next - 0.5 - 2 * random());
    const candidate = ALTERNATIVES[Math.floor(random() * ALTERNATIVES.length)] ?? ' the';
    alternatives.push({
      token: candidate === token ? `${candidate}s` : candidate,
      logprob: next,
      bytes: bytesOf(candidate),
    });
  }
  return { token, logprob, bytes: bytesOf(token), top_logprobs: top > 0 ? alternatives : [] };
}

/** Chat: `choice.logprobs = { content: [...] }`. */
export function chatLogprobs(
  seed: number,
  pieces: readonly string[],
  from: number,
  top: number,
): { content: TokenLogprob[] } {
  return { content: pieces.map((piece, offset) => tokenLogprob(seed, from + offset, piece, top)) };
}

/** Completions: the legacy parallel-array shape. */
export function completionLogprobs(
  seed: number,
  pieces: readonly string[],
  from: number,
  top: number,
  textOffset: number,
): { tokens: string[]; token_logprobs: number[]; top_logprobs: Record<string, number>[]; text_offset: number[] } {
  const entries = pieces.map((piece, offset) => tokenLogprob(seed, from + offset, piece, Math.max(1, top)));
  let offset = textOffset;
  return {
    tokens: entries.map((entry) => entry.token),
    token_logprobs: entries.map((entry) => entry.logprob),
    top_logprobs: entries.map((entry) =>
      Object.fromEntries(entry.top_logprobs.slice(0, Math.max(1, top)).map((alt) => [alt.token, alt.logprob])),
    ),
    text_offset: pieces.map((piece) => {
      const at = offset;
      offset += piece.length;
      return at;
    }),
  };
}
