// System-prompt leakage: the output repeats a run of `n` consecutive words of the request's system prompt.
// Words are compared lower-cased and stripped of punctuation, so light reformatting does not hide a leak.

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)?/gu;
/** The same words for ASCII text (after lower-casing, \p{L} is a-z, \p{N} is 0-9, ’ cannot occur), without /u. */
const ASCII_WORD = /[a-z0-9]+(?:'[a-z]+)?/g;
const ASCII = /^[\x00-\x7F]*$/;

export function words(text: string): string[] {
  const lower = text.toLowerCase();
  return lower.match(ASCII.test(lower) ? ASCII_WORD : WORD) ?? [];
}

export class NgramIndex {
  private readonly grams = new Set<string>();
  /** The words of the n-grams: a window holding any other word cannot leak, so it is not joined and looked up. */
  private readonly vocabulary = new Set<string>();
  constructor(
    text: string,
    readonly n: number,
  ) {
    const list = words(text);
    for (let index = 0; index + n <= list.length; index++) {
      const gram = list.slice(index, index + n);
      this.grams.add(gram.join(' '));
      for (const word of gram) this.vocabulary.add(word);
    }
  }

  get empty(): boolean {
    return this.grams.size === 0;
  }

  /** The first leaked n-gram in a word sequence, if any. */
  firstLeak(sequence: readonly string[]): string | undefined {
    // Windows in start order (as their ends advance); only runs of n known words are joined.
    let run = 0;
    for (let end = 0; end < sequence.length; end++) {
      if (!this.vocabulary.has(sequence[end] as string)) {
        run = 0;
        continue;
      }
      if (++run < this.n) continue;
      const gram = sequence.slice(end + 1 - this.n, end + 1).join(' ');
      if (this.grams.has(gram)) return gram;
    }
    return undefined;
  }
}

/** System prompts repeat across requests: their indexes are built once (bounded; cleared when full). */
const indexes = new Map<string, NgramIndex>();
const MAX_INDEXES = 256;

export function ngramIndexFor(systemPrompt: string, n: number): NgramIndex {
  const key = `${n}\u0000${systemPrompt}`;
  let index = indexes.get(key);
  if (index === undefined) {
    index = new NgramIndex(systemPrompt, n);
    if (indexes.size >= MAX_INDEXES) indexes.clear();
    indexes.set(key, index);
  }
  return index;
}
