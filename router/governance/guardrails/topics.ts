// Allowed-topics input guardrail. Each configured topic is a name plus a few example phrases; the examples are
// embedded once at start-up. A request's last user message is embedded with the same model and compared (cosine of
// L2-normalised vectors = dot product) with every example of the topics its policy allows; the best match must reach
// the policy's threshold, otherwise the request is off-topic. Quality depends entirely on the embedding model: the
// generated test model only separates its planted word clusters.
import { textOf } from './input.ts';

export interface TopicMatch {
  /** Closest allowed topic (undefined when the policy allows none that is configured). */
  topic: string | undefined;
  /** Cosine similarity to that topic's closest example (-1 when there is none). */
  similarity: number;
}

export type EmbedTexts = (texts: readonly string[]) => Promise<Float32Array[]>;

export class TopicGuard {
  private constructor(private readonly topics: ReadonlyMap<string, readonly Float32Array[]>) {}

  /** Embeds every example once (one batched call). */
  static async create(catalog: Readonly<Record<string, readonly string[]>>, embed: EmbedTexts): Promise<TopicGuard> {
    const names = Object.keys(catalog);
    const examples = names.flatMap((name) => (catalog[name] ?? []).map((text) => ({ name, text })));
    const vectors = examples.length > 0 ? await embed(examples.map((example) => example.text)) : [];
    const topics = new Map<string, Float32Array[]>(names.map((name) => [name, []]));
    examples.forEach((example, index) => topics.get(example.name)?.push(vectors[index] as Float32Array));
    return new TopicGuard(topics);
  }

  get names(): string[] {
    return [...this.topics.keys()];
  }

  /** Closest topic among `allowed` (empty: all topics). */
  match(vector: Float32Array, allowed: readonly string[]): TopicMatch {
    let best: TopicMatch = { topic: undefined, similarity: -1 };
    for (const name of allowed.length > 0 ? allowed : this.topics.keys()) {
      for (const example of this.topics.get(name) ?? []) {
        const similarity = dot(vector, example);
        if (similarity > best.similarity) best = { topic: name, similarity };
      }
    }
    return best;
  }
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i += 1) sum += (a[i] as number) * (b[i] as number);
  return sum;
}

/** A prompt that is there but is not text (token ids): it cannot be judged, so it is treated as off-topic. */
export const NOT_TEXT = Symbol('not text');

/**
 * The text the topic check judges: the last user message (the question being asked now; earlier turns were judged
 * when they were last), or a completion prompt (several string prompts are judged together). System/developer
 * messages are the operator's and never judged; image or audio parts are not judged.
 */
export function lastUserText(
  endpoint: string,
  body: Readonly<Record<string, unknown>>,
): string | undefined | typeof NOT_TEXT {
  if (endpoint === 'completions') {
    const prompt = body['prompt'];
    if (prompt === undefined || prompt === null || typeof prompt === 'string') return prompt ?? undefined;
    if (Array.isArray(prompt) && prompt.every((piece) => typeof piece === 'string')) return prompt.join('\n');
    return NOT_TEXT;
  }
  if (!Array.isArray(body['messages'])) return undefined;
  for (let index = body['messages'].length - 1; index >= 0; index -= 1) {
    const message = body['messages'][index] as Record<string, unknown> | null | undefined;
    if (message && typeof message === 'object' && message['role'] === 'user') return textOf(message['content']);
  }
  return undefined;
}
