// Token counting with tiktoken (cl100k_base): used when the server sends no usage block, and to build synthetic prompts
// of an exact length. Counts are the OpenAI tokenizer's, not the served model's; the server's usage wins when present.
import { get_encoding, type Tiktoken } from 'tiktoken';

let encoder: Tiktoken | undefined;

function getEncoder(): Tiktoken {
  encoder ??= get_encoding('cl100k_base');
  return encoder;
}

export function countTokens(text: string): number {
  if (text.length === 0) return 0;
  return getEncoder().encode_ordinary(text).length;
}

// Common English words; each " word" is one cl100k token and the pre-tokenizer splits on the leading space, so a
// prompt of N of them is exactly N tokens. Checked once at first use.
const CANDIDATE_WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an they you ' +
  'were her she there one all we their been has when who will more no if out so what up said about other into than ' +
  'its time only could new them man some these then two first may any like now my such make over our even most me ' +
  'state after also made many did must before back see through way where get much go well your know should down ' +
  'work year because come people just say each those take day good how long very here between both life being under ' +
  'never same another know while last might great old off come since against go right used three small however large ' +
  'system number part place case point group world house city water river table light music order model paper field'
)
  .split(' ')
  .filter((word, index, words) => word.length > 0 && words.indexOf(word) === index);

let singleTokenWords: string[] | undefined;

export function promptWords(): readonly string[] {
  singleTokenWords ??= CANDIDATE_WORDS.filter((word) => countTokens(` ${word}`) === 1);
  return singleTokenWords;
}

/** A prompt of exactly `tokens` cl100k tokens of random words (no shared prefix between two prompts). */
export function syntheticText(tokens: number, pick: (count: number) => number): string {
  const words = promptWords();
  const parts: string[] = [];
  for (let index = 0; index < tokens; index += 1) parts.push(` ${words[pick(words.length)] ?? 'the'}`);
  return parts.join('');
}
