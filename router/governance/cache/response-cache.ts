// Exact response cache. Key = SHA-256 of the normalised request: endpoint, model and every generation parameter
// (messages/prompt, tools, sampling params; not `stream`, `stream_options` or `user`), with object keys sorted, plus
// the cache scope (cache/scope.ts: tenant, guardrail policy, prompt version, model route), so no answer crosses them.
// Only deterministic requests are cached (temperature 0, or the caller opts in with `x-switchyard-cache: on`).
// Entries are LRU-evicted by size in bytes and expire after a TTL. A cached answer serves both stream and non-stream
// requests: a stored body is replayed as SSE chunks, stored chunks are assembled into a body (text content only;
// answers with tool calls are served in the form they were stored in).
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';

export type CachedAnswer =
  { kind: 'body'; body: Record<string, unknown> } | { kind: 'chunks'; chunks: Array<Record<string, unknown>> };

interface Entry {
  answer: CachedAnswer;
  bytes: number;
  expiresAt: number;
}

const EXCLUDED = new Set(['stream', 'stream_options', 'user', 'prompt_registry']);

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, entry]) => entry !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${canonical(entry)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export function cacheKey(endpoint: string, body: Readonly<Record<string, unknown>>, scope = ''): string {
  const normalised: Record<string, unknown> = { endpoint };
  for (const [key, value] of Object.entries(body)) if (!EXCLUDED.has(key) && value !== null) normalised[key] = value;
  return createHash('sha256').update(scope).update('\u0000').update(canonical(normalised)).digest('hex');
}

/** Deterministic enough to cache: temperature 0 (or explicit opt-in), one choice. */
export function isCacheable(body: Readonly<Record<string, unknown>>, optIn: boolean): boolean {
  if (typeof body['n'] === 'number' && body['n'] > 1) return false;
  return optIn || body['temperature'] === 0;
}

export class ResponseCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private readonly clock: () => number;

  constructor(private readonly options: { maxBytes: number; ttlSeconds: number; clock?: () => number }) {
    this.clock = options.clock ?? Date.now;
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }

  get(key: string): CachedAnswer | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.clock()) {
      this.delete(key, entry);
      return undefined;
    }
    // Refresh recency: Map iteration order is insertion order, so re-inserting makes it the newest.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.answer;
  }

  /** Stores an answer; false when it is larger than the whole cache (not stored). */
  set(key: string, answer: CachedAnswer): boolean {
    const bytes = Buffer.byteLength(JSON.stringify(answer)) + key.length;
    if (bytes > this.options.maxBytes) return false;
    const existing = this.entries.get(key);
    if (existing) this.delete(key, existing);
    this.entries.set(key, { answer, bytes, expiresAt: this.clock() + this.options.ttlSeconds * 1000 });
    this.bytes += bytes;
    for (const [oldKey, oldEntry] of this.entries) {
      if (this.bytes <= this.options.maxBytes) break;
      this.delete(oldKey, oldEntry);
    }
    return true;
  }

  private delete(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }
}

/** A stored answer as a non-streamed body, or undefined when it cannot be converted. */
export function answerAsBody(
  answer: CachedAnswer,
  endpoint: 'chat' | 'completions',
): Record<string, unknown> | undefined {
  if (answer.kind === 'body') return structuredClone(answer.body);
  let text = '';
  let finish: unknown = 'stop';
  let head: Record<string, unknown> | undefined;
  let usage: unknown;
  for (const chunk of answer.chunks) {
    head ??= chunk;
    if (chunk['usage']) usage = chunk['usage'];
    for (const choice of (chunk['choices'] as Array<Record<string, unknown>> | undefined) ?? []) {
      const delta = choice['delta'] as Record<string, unknown> | undefined;
      if (delta?.['tool_calls']) return undefined;
      const piece = endpoint === 'chat' ? delta?.['content'] : choice['text'];
      if (typeof piece === 'string') text += piece;
      if (choice['finish_reason']) finish = choice['finish_reason'];
    }
  }
  if (!head) return undefined;
  const choice =
    endpoint === 'chat'
      ? { index: 0, message: { role: 'assistant', content: text }, finish_reason: finish, logprobs: null }
      : { index: 0, text, finish_reason: finish, logprobs: null };
  return {
    id: head['id'],
    object: endpoint === 'chat' ? 'chat.completion' : 'text_completion',
    created: head['created'],
    model: head['model'],
    choices: [choice],
    ...(usage ? { usage } : {}),
  };
}

/** A stored answer as stream chunks (usage chunk last), or undefined when it cannot be converted. */
export function answerAsChunks(
  answer: CachedAnswer,
  endpoint: 'chat' | 'completions',
): Array<Record<string, unknown>> | undefined {
  if (answer.kind === 'chunks') return structuredClone(answer.chunks);
  const body = answer.body;
  const choice = ((body['choices'] as Array<Record<string, unknown>> | undefined) ?? [])[0];
  if (!choice) return undefined;
  const message = choice['message'] as Record<string, unknown> | undefined;
  if (message?.['tool_calls']) return undefined;
  const text = String((endpoint === 'chat' ? message?.['content'] : choice['text']) ?? '');
  const object = endpoint === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  const base = { id: body['id'], object, created: body['created'], model: body['model'] };
  const pieces = text.match(/[\s\S]{1,16}/g) ?? [];
  const chunkOf = (content: string, finish: unknown): Record<string, unknown> => ({
    ...base,
    choices: [
      endpoint === 'chat'
        ? { index: 0, delta: { content }, finish_reason: finish }
        : { index: 0, text: content, finish_reason: finish },
    ],
  });
  const chunks = [
    ...(endpoint === 'chat'
      ? [{ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }]
      : []),
    ...pieces.map((piece) => chunkOf(piece, null)),
    chunkOf('', choice['finish_reason'] ?? 'stop'),
  ];
  if (body['usage']) chunks.push({ ...base, choices: [], usage: body['usage'] });
  return chunks;
}
