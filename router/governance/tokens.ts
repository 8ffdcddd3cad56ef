// Prompt token counting with tiktoken (cl100k_base) before a request is sent: what TPM limits and worst-case budget
// reservations are charged with. Llama's tokenizer differs by a few percent; completion tokens are settled later from
// the upstream's usage, so the estimate only has to be close. One encoder per process, created on first use.
import { get_encoding, type Tiktoken } from 'tiktoken';
import { textOf } from './guardrails/input.ts';

let encoder: Tiktoken | undefined;

/** Chat-template overhead per message (role header and separators), as OpenAI documents for its chat models. */
const PER_MESSAGE = 4;
const PER_REQUEST = 3;

export function countTokens(text: string): number {
  if (text === '') return 0;
  encoder ??= get_encoding('cl100k_base');
  return encoder.encode_ordinary(text).length;
}

/** System prompts repeat across requests: their counts are memoised (bounded), user text is always counted. */
const systemMemo = new Map<string, number>();

function countSystem(text: string): number {
  const known = systemMemo.get(text);
  if (known !== undefined) return known;
  const count = countTokens(text);
  if (systemMemo.size >= 1024) systemMemo.clear();
  systemMemo.set(text, count);
  return count;
}

/** Cheap estimate (4 characters per token) where an exact count is not needed (no TPM limit, no budget). */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export function countChatTokens(messages: ReadonlyArray<Record<string, unknown>>, tools?: unknown, exact = true): number {
  let total = PER_REQUEST;
  for (const message of messages) {
    const text = textOf(message.content);
    const system = message.role === 'system' || message.role === 'developer';
    total += PER_MESSAGE + (!exact ? estimateTokens(text) : system ? countSystem(text) : countTokens(text));
  }
  if (Array.isArray(tools) && tools.length > 0) total += countTokens(JSON.stringify(tools));
  return total;
}

/** Completions prompt: a string, strings, or token ids (counted as they are). */
export function countPromptTokens(prompt: unknown, exact = true): number {
  const count = exact ? countTokens : estimateTokens;
  if (typeof prompt === 'string') return count(prompt);
  if (!Array.isArray(prompt)) return 0;
  let total = 0;
  for (const item of prompt) {
    if (typeof item === 'string') total += count(item);
    else if (typeof item === 'number') total += 1;
    else if (Array.isArray(item)) total += item.length;
  }
  return total;
}
