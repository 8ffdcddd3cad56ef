// Fixed-size chunker: token-exact windows (default 512 tokens, 50 shared between neighbours).
import { z } from 'zod';
import type { Chunker, ChunkDraft, SourceDocument } from '../contracts.ts';
import { getTokenizer, TokenEncodingSchema } from '../tokens.ts';
import { toDraft, tokenWindows } from './spans.ts';

export const FixedChunkerConfigSchema = z
  .object({
    size: z.number().int().positive().default(512),
    overlap: z.number().int().nonnegative().default(50),
    encoding: TokenEncodingSchema.default('cl100k_base'),
  })
  .refine((config) => config.overlap < config.size, { message: 'overlap must be smaller than size' });
export type FixedChunkerConfig = z.infer<typeof FixedChunkerConfigSchema>;

export class FixedChunker implements Chunker {
  readonly name = 'fixed';
  readonly config: FixedChunkerConfig;

  constructor(config: z.input<typeof FixedChunkerConfigSchema> = {}) {
    this.config = FixedChunkerConfigSchema.parse(config);
  }

  async chunk(document: SourceDocument): Promise<ChunkDraft[]> {
    const tokenizer = getTokenizer(this.config.encoding);
    const { text } = document;
    const tokens = tokenizer.encode(text);
    // One window: its token count is the document's, so the text is not encoded a second time to count it.
    if (tokens.length <= this.config.size) {
      if (text.trim().length === 0) return [];
      return [{ text, start: 0, end: text.length, headingPath: [], tokenCount: tokens.length }];
    }
    const span = { start: 0, end: text.length };
    return tokenWindows(text, span, this.config.size, this.config.overlap, tokenizer, tokens).map((window) =>
      toDraft(text, window, [], tokenizer),
    );
  }
}
