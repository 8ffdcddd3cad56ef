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
    return tokenWindows(text, { start: 0, end: text.length }, this.config.size, this.config.overlap, tokenizer).map(
      (span) => toDraft(text, span, [], tokenizer),
    );
  }
}
