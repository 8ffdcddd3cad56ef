// The simulator's tokenizer: OpenAI's cl100k_base BPE (tiktoken, WASM) for all text, plus Llama-3-style special tokens
// for the chat template. Prompt counts, completion counts and the pieces streamed to clients all come from here, so
// `usage` is exact and consistent: joining the streamed pieces and re-encoding them gives the same token count.
import tiktoken, { type Tiktoken } from 'tiktoken';
import { seededRandom } from '../random.ts';

// A static import: the module's word list below tokenizes at import time anyway, and esbuild must see tiktoken to put
// it in the vLLM stand-in's bundle. The router does not import the simulator unless a pool is simulated.
let encoder: Tiktoken | undefined;
function encoding(): Tiktoken {
  encoder ??= tiktoken.get_encoding('cl100k_base');
  return encoder;
}

/** Loads the encoder now: a replica does it before it listens, so its first request does not pay the WASM load. */
export function warmTokenizer(): void {
  encoding();
}

/** Special tokens of the chat template (Llama 3's ids; outside cl100k's range so they never collide). */
export const SPECIAL = { beginOfText: 128000, startHeader: 128006, endHeader: 128007, endOfTurn: 128009 } as const;

export function encode(text: string): number[] {
  return text.length === 0 ? [] : Array.from(encoding().encode_ordinary(text));
}

export function countTokens(text: string): number {
  return text.length === 0 ? 0 : encoding().encode_ordinary(text).length;
}

/** The text of each token, decoded incrementally so multi-byte characters split across tokens stay valid UTF-8. */
export function tokenPieces(text: string): string[] {
  const tokens = encoding().encode_ordinary(text);
  const decoder = new TextDecoder('utf-8');
  const pieces: string[] = [];
  for (const token of tokens) {
    pieces.push(decoder.decode(encoding().decode_single_token_bytes(token), { stream: true }));
  }
  const rest = decoder.decode();
  if (rest.length > 0 && pieces.length > 0) pieces[pieces.length - 1] += rest;
  return pieces;
}

export interface TemplateMessage {
  role: string;
  content: string;
}

/**
 * Token ids of a chat prompt, Llama 3 template shape:
 * <|begin_of_text|> then per message <|start_header_id|>role<|end_header_id|>"\n\n"content<|eot_id|>, then the
 * generation prompt <|start_header_id|>assistant<|end_header_id|>"\n\n".
 */
export function chatPromptTokens(messages: readonly TemplateMessage[], toolsJson?: string): number[] {
  const tokens: number[] = [SPECIAL.beginOfText];
  // Appended one by one: spreading a long prompt's ids into push() overflows the call stack (~100k arguments).
  const append = (ids: readonly number[]): void => {
    for (const id of ids) tokens.push(id);
  };
  const pushMessage = (role: string, content: string): void => {
    tokens.push(SPECIAL.startHeader);
    append(encode(role));
    tokens.push(SPECIAL.endHeader);
    append(encode(`\n\n${content}`));
    tokens.push(SPECIAL.endOfTurn);
  };
  if (toolsJson !== undefined) pushMessage('system', `Tools available:\n${toolsJson}`);
  for (const message of messages) pushMessage(message.role, message.content);
  tokens.push(SPECIAL.startHeader);
  append(encode('assistant'));
  tokens.push(SPECIAL.endHeader);
  append(encode('\n\n'));
  return tokens;
}

// Words that are exactly one cl100k token both as " word" and capitalised, so pseudo-text has one token per piece.
const WORD_CANDIDATES = (
  'the model system data request server token cache batch queue memory engine stream answer question result value ' +
  'time number first last small large fast slow good new old other same many each every some more most less when ' +
  'where what which while after before under over between through during without within about against among ' +
  'people world life work part place case point group company state problem fact hand week day year way thing ' +
  'make take give find tell call keep show turn move live play run hold bring write read learn change follow ' +
  'open close start stop build send check test help look need want know think feel seem become leave put mean ' +
  'light water river mountain city road house room table paper book story music color sound voice heart mind ' +
  'simple clear quiet bright early late strong short long high low full free real true able ready whole local ' +
  'and but or so because if then also only just even still again often never always here there now today'
).split(' ');

function isSingleToken(text: string): boolean {
  return encoding().encode_ordinary(text).length === 1;
}

const WORDS: readonly string[] = WORD_CANDIDATES.filter(
  (word) => isSingleToken(` ${word}`) && isSingleToken(` ${capitalise(word)}`) && isSingleToken(capitalise(word)),
);

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** Deterministic pseudo-text and lengths per request come from the project's seeded PRNG. */
export const createRandom = seededRandom;

/** FNV-1a 32-bit hash of a string: the seed of a request's output. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * `count` pieces of English-looking text, exactly one cl100k token each: sentences of 5–16 words ending in ".",
 * with an occasional ",". Deterministic for a seed.
 */
export function pseudoTextPieces(seed: number, count: number): string[] {
  const random = createRandom(seed);
  const pieces: string[] = [];
  let sentenceLeft = 0;
  let first = true;
  while (pieces.length < count) {
    if (sentenceLeft === 0) {
      if (!first) {
        pieces.push('.');
        if (pieces.length >= count) break;
      }
      sentenceLeft = 5 + Math.floor(random() * 12);
      const word = capitalise(pick(random));
      pieces.push(first ? word : ` ${word}`);
      first = false;
      sentenceLeft--;
      continue;
    }
    if (sentenceLeft > 2 && random() < 0.06) {
      pieces.push(',');
      if (pieces.length >= count) break;
    }
    pieces.push(` ${pick(random)}`);
    sentenceLeft--;
  }
  return pieces.slice(0, count);
}

function pick(random: () => number): string {
  return WORDS[Math.floor(random() * WORDS.length)] ?? 'the';
}

/** A prompt of exactly `count` tokens made of pseudo-text (benchmarks and tests build prompts of known length). */
export function pseudoText(seed: number, count: number): string {
  return pseudoTextPieces(seed, count).join('');
}
