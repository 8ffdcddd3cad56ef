// Recursive character chunker (the LangChain idea, token-exact): split on the first separator that occurs, pack the
// pieces into chunks of at most `size` tokens with `overlap` tokens carried over, and split oversized pieces again
// with the next separator; the last resort is fixed token windows.
import { z } from 'zod';
import type { Chunker, ChunkDraft, SourceDocument } from '../contracts.ts';
import { getTokenizer, TokenEncodingSchema, type Tokenizer } from '../tokens.ts';
import { nonBlank, packSpans, splitAfter, toDraft, tokenWindows, type Span } from './spans.ts';

export const DEFAULT_SEPARATORS = ['\n\n', '\n', '. ', ', ', ' '];

export const RecursiveChunkerConfigSchema = z
  .object({
    size: z.number().int().positive().default(800),
    overlap: z.number().int().nonnegative().default(150),
    separators: z.array(z.string().min(1)).default(DEFAULT_SEPARATORS),
    encoding: TokenEncodingSchema.default('cl100k_base'),
  })
  .refine((config) => config.overlap < config.size, { message: 'overlap must be smaller than size' });
export type RecursiveChunkerConfig = z.infer<typeof RecursiveChunkerConfigSchema>;

export class RecursiveChunker implements Chunker {
  readonly name = 'recursive';
  readonly config: RecursiveChunkerConfig;

  constructor(config: z.input<typeof RecursiveChunkerConfigSchema> = {}) {
    this.config = RecursiveChunkerConfigSchema.parse(config);
  }

  async chunk(document: SourceDocument): Promise<ChunkDraft[]> {
    const tokenizer = getTokenizer(this.config.encoding);
    const { text } = document;
    // A document that fits is one chunk: counted once here instead of three times (split, pack, draft) below.
    const tokenCount = tokenizer.count(text);
    if (tokenCount <= this.config.size) {
      return text.trim().length === 0 ? [] : [{ text, start: 0, end: text.length, headingPath: [], tokenCount }];
    }
    return this.spans(text, { start: 0, end: text.length }, tokenizer).map((span) =>
      toDraft(text, span, [], tokenizer),
    );
  }

  /** Chunks of text[span]; exported through the class so structure-aware chunkers can reuse it per section. */
  spans(text: string, span: Span, tokenizer: Tokenizer): Span[] {
    const { size, overlap, separators } = this.config;
    return nonBlank(text, packSpans(text, this.pieces(text, span, separators, tokenizer), size, overlap, tokenizer));
  }

  /** Pieces that each fit in `size` tokens, covering the span in order. */
  private pieces(text: string, span: Span, separators: readonly string[], tokenizer: Tokenizer): Span[] {
    const { size } = this.config;
    if (tokenizer.count(text.slice(span.start, span.end)) <= size) return [span];
    const index = separators.findIndex((separator) => {
      const found = text.indexOf(separator, span.start);
      return found !== -1 && found + separator.length < span.end;
    });
    if (index === -1) return tokenWindows(text, span, size, 0, tokenizer);
    const rest = separators.slice(index + 1);
    return splitAfter(text, span, separators[index] as string).flatMap((piece) =>
      this.pieces(text, piece, rest, tokenizer),
    );
  }
}
