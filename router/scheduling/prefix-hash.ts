// Chained hashes of a prompt's leading blocks, for prefix affinity. Hot path: one pass over the characters, no
// allocation per character, no tokenizer. A "token" is approximated as CHARS_PER_TOKEN characters, which is what
// BPE tokenizers average on English text; exact alignment with the engine's tokens is unnecessary because the
// router only needs the same prefix to hash the same way every time.

/** Average characters per BPE token on English text (cl100k/Llama-3 tokenizers are close to 4). */
export const CHARS_PER_TOKEN = 4;
/** vLLM's default KV block size. */
export const DEFAULT_PREFIX_BLOCK_TOKENS = 16;
/**
 * Hash at most this many blocks (2048 tokens ≈ 8K characters at the defaults): bounds the cost for huge prompts.
 * Hash k is chained, so block 127 already stands for the whole 2K-token prefix; longer prompts that agree that far
 * are treated as sharing all of it, which is what affinity needs.
 */
export const DEFAULT_MAX_PREFIX_BLOCKS = 128;

export interface PromptMessage {
  role: string;
  content?: string | null | ReadonlyArray<{ type: string; text?: string }>;
  name?: string;
}

export interface PrefixHashOptions {
  blockTokens?: number;
  maxBlocks?: number;
}

/** Separator chars keep "ab"+"c" and "a"+"bc" apart across message boundaries. */
const ROLE_SEPARATOR = 0x1e;
const MESSAGE_SEPARATOR = 0x1f;

/**
 * Hashes of the leading blocks of a prompt: element k covers every character of blocks 0..k (chained), so two
 * prompts share hash k exactly when they share their first k+1 blocks. A trailing partial block is not hashed
 * (the engine cannot cache it either).
 */
export function computePrefixBlockHashes(
  input: string | readonly PromptMessage[],
  blockTokens: number = DEFAULT_PREFIX_BLOCK_TOKENS,
  options: PrefixHashOptions = {},
): string[] {
  const blockChars = Math.max(1, Math.round((options.blockTokens ?? blockTokens) * CHARS_PER_TOKEN));
  const maxBlocks = options.maxBlocks ?? DEFAULT_MAX_PREFIX_BLOCKS;
  const hasher = new ChainedBlockHasher(blockChars, maxBlocks);
  if (typeof input === 'string') {
    hasher.feed(input);
  } else {
    for (const message of input) {
      if (hasher.full) break;
      hasher.feed(message.role);
      hasher.feedCode(ROLE_SEPARATOR);
      const content = message.content;
      if (typeof content === 'string') {
        hasher.feed(content);
      } else if (content) {
        for (const part of content) if (part.text !== undefined) hasher.feed(part.text);
      }
      hasher.feedCode(MESSAGE_SEPARATOR);
    }
  }
  return hasher.hashes;
}

/** Two independent 32-bit FNV-1a style lanes → a 53-bit id; collisions are negligible at LRU sizes. */
class ChainedBlockHasher {
  readonly hashes: string[] = [];
  private laneA = 0x811c9dc5;
  private laneB = 0x01000193 ^ 0x5bd1e995;
  private inBlock = 0;

  constructor(
    private readonly blockChars: number,
    private readonly maxBlocks: number,
  ) {}

  get full(): boolean {
    return this.hashes.length >= this.maxBlocks;
  }

  feed(text: string): void {
    // Locals instead of fields in the per-character loop: this is the hot path of every request.
    const hashes = this.hashes;
    if (hashes.length >= this.maxBlocks) return;
    const blockChars = this.blockChars;
    const maxBlocks = this.maxBlocks;
    let laneA = this.laneA;
    let laneB = this.laneB;
    let inBlock = this.inBlock;
    const length = text.length;
    let index = 0;
    while (index < length) {
      // Two UTF-16 units per multiply where the block has room for both: half the work of one char per step.
      let code: number;
      if (index + 1 < length && blockChars - inBlock >= 2) {
        code = text.charCodeAt(index) | (text.charCodeAt(index + 1) << 16);
        index += 2;
        inBlock += 2;
      } else {
        code = text.charCodeAt(index);
        index += 1;
        inBlock += 1;
      }
      laneA = Math.imul(laneA ^ code, 0x01000193);
      laneB = Math.imul(laneB ^ code, 0x5bd1e995);
      laneB ^= laneB >>> 15;
      if (inBlock === blockChars) {
        inBlock = 0;
        hashes.push(blockId(laneA, laneB));
        if (hashes.length >= maxBlocks) break;
      }
    }
    this.laneA = laneA;
    this.laneB = laneB;
    this.inBlock = inBlock;
  }

  feedCode(code: number): void {
    if (this.hashes.length >= this.maxBlocks) return;
    this.laneA = Math.imul(this.laneA ^ code, 0x01000193);
    this.laneB = Math.imul(this.laneB ^ code, 0x5bd1e995);
    this.laneB ^= this.laneB >>> 15;
    if (++this.inBlock === this.blockChars) {
      this.inBlock = 0;
      this.hashes.push(blockId(this.laneA, this.laneB));
    }
  }
}

/** 53 bits of the two lanes as one decimal string: a single number→string conversion per block. */
function blockId(laneA: number, laneB: number): string {
  return String((laneA >>> 0) * 0x200000 + (laneB >>> 11));
}
