// System-prompt leakage: the output repeats a run of `n` consecutive words of the request's system prompt.
// Words are compared lower-cased and stripped of punctuation, so light reformatting does not hide a leak.

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)?/gu;

export function words(text: string): string[] {
  return Array.from(text.toLowerCase().matchAll(WORD), (match) => match[0]);
}

export class NgramIndex {
  private readonly grams = new Set<string>();
  constructor(
    text: string,
    readonly n: number,
  ) {
    const list = words(text);
    for (let index = 0; index + n <= list.length; index++) this.grams.add(list.slice(index, index + n).join(' '));
  }

  get empty(): boolean {
    return this.grams.size === 0;
  }

  /** The first leaked n-gram in a word sequence, if any. */
  firstLeak(sequence: readonly string[]): string | undefined {
    for (let index = 0; index + this.n <= sequence.length; index++) {
      const gram = sequence.slice(index, index + this.n).join(' ');
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
