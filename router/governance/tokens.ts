// Prompt token counting with tiktoken (cl100k_base) before a request is sent: what TPM limits and worst-case budget
// reservations are charged with. Llama's tokenizer differs by a few percent; completion tokens are settled later from
// the upstream's usage, so the estimate only has to be close. One encoder per process, created on first use.
import { createRequire } from 'node:module';
import type { Tiktoken } from 'tiktoken';
import type * as TiktokenModule from 'tiktoken';
import { textOf } from './guardrails/input.ts';

// tiktoken's WebAssembly encoder (~15 MB resident) loads on the first count, so a router whose governance counts no
// tokens never holds it.
const require = createRequire(import.meta.url);
const get_encoding = (name: 'cl100k_base'): Tiktoken =>
  (require('tiktoken') as typeof TiktokenModule).get_encoding(name);

let encoder: Tiktoken | undefined;

/** Chat-template overhead per message (role header and separators), as OpenAI documents for its chat models. */
const PER_MESSAGE = 4;
const PER_REQUEST = 3;

export function countTokens(text: string): number {
  if (text === '') return 0;
  encoder ??= get_encoding('cl100k_base');
  return ASCII.test(text) ? countAsciiPieces(text, encoder) : encoder.encode_ordinary(text).length;
}

/** Exact count without the piece cache (tests compare the two). */
export function countTokensUncached(text: string): number {
  if (text === '') return 0;
  encoder ??= get_encoding('cl100k_base');
  return encoder.encode_ordinary(text).length;
}

// tiktoken splits text with cl100k_base's pre-tokenisation regex and byte-pair-encodes each piece on its own, so the
// count of a text is the sum of its pieces' counts. Words repeat across prompts: counting through a cache of piece
// counts skips the WASM call (string copy, Rust regex, BPE) for the pieces seen before, with the same result. Only
// for ASCII text, where the regex below is provably the same split as cl100k_base's
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// (\p{L} = ASCII letters, \p{N} = ASCII digits, \s = the same six ASCII spaces); other text goes to tiktoken whole.
const ASCII = /^[\x00-\x7F]*$/;
const ASCII_PIECES =
  /'(?:[sStTmMdD]|[rR][eE]|[vV][eE]|[lL][lL])|[^\r\nA-Za-z0-9]?[A-Za-z]+|[0-9]{1,3}| ?[^\sA-Za-z0-9]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/g;
/** Longest piece kept in the cache (long runs of punctuation or spaces are rare and not worth keeping). */
const MAX_CACHED_PIECE = 24;
const MAX_CACHED_PIECES = 50_000;
/** A text with this many unseen pieces is mostly new: the rest of it goes to tiktoken in one call. */
const MAX_MISSES = 32;
const pieceCounts = new Map<string, number>();

function countAsciiPieces(text: string, tiktoken: Tiktoken): number {
  let total = 0;
  let misses = 0;
  ASCII_PIECES.lastIndex = 0;
  for (let match = ASCII_PIECES.exec(text); match !== null; match = ASCII_PIECES.exec(text)) {
    const piece = match[0];
    const known = pieceCounts.get(piece);
    if (known !== undefined) {
      total += known;
      continue;
    }
    if (++misses > MAX_MISSES) {
      // A split restarted at a piece boundary is the same split (the regex looks ahead, never behind).
      total += tiktoken.encode_ordinary(text.slice(match.index)).length;
      break;
    }
    const count = tiktoken.encode_ordinary(piece).length;
    if (piece.length <= MAX_CACHED_PIECE) {
      if (pieceCounts.size >= MAX_CACHED_PIECES) pieceCounts.clear();
      pieceCounts.set(piece, count);
    }
    total += count;
  }
  ASCII_PIECES.lastIndex = 0;
  return total;
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

export function countChatTokens(
  messages: ReadonlyArray<Record<string, unknown>>,
  tools?: unknown,
  exact = true,
): number {
  let total = PER_REQUEST;
  for (const message of messages) {
    // Admission counts before the body is validated: a malformed entry is left for validation to reject (400).
    if (message === null || typeof message !== 'object') continue;
    const text = textOf(message['content']);
    const system = message['role'] === 'system' || message['role'] === 'developer';
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
