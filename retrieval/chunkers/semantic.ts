// Semantic chunker: embed each sentence, and start a new chunk where the cosine similarity of consecutive sentences
// drops below `threshold` (once the current chunk has `minTokens`), or when the next sentence would not fit in
// `size`. Sentences longer than `size` are split into token windows first.
import { z } from 'zod';
import type { Chunker, ChunkDraft, Embedder, SourceDocument } from '../contracts.ts';
import { dot } from '../indexes/vector-math.ts';
import { getTokenizer, TokenEncodingSchema } from '../tokens.ts';
import { toDraft, tokenWindows, type Span } from './spans.ts';

export const SemanticChunkerConfigSchema = z
  .object({
    threshold: z.number().min(-1).max(1).default(0.5),
    minTokens: z.number().int().nonnegative().default(64),
    size: z.number().int().positive().default(512),
    encoding: TokenEncodingSchema.default('cl100k_base'),
  })
  .refine((config) => config.minTokens <= config.size, { message: 'minTokens must not exceed size' });
export type SemanticChunkerConfig = z.infer<typeof SemanticChunkerConfigSchema>;

/** Sentence spans: a sentence ends after . ! or ? followed by whitespace, or at a blank line. Spans cover the text. */
export function sentenceSpans(text: string): Span[] {
  const spans: Span[] = [];
  const boundary = /[.!?]+["')\]]*\s+|\n\s*\n\s*/g;
  let start = 0;
  for (let match = boundary.exec(text); match !== null; match = boundary.exec(text)) {
    const end = match.index + match[0].length;
    if (end > start) spans.push({ start, end });
    start = end;
  }
  if (start < text.length) spans.push({ start, end: text.length });
  return spans.filter((span) => text.slice(span.start, span.end).trim().length > 0);
}

export class SemanticChunker implements Chunker {
  readonly name = 'semantic';
  readonly config: SemanticChunkerConfig;

  constructor(
    private readonly embedder: Embedder,
    config: z.input<typeof SemanticChunkerConfigSchema> = {},
  ) {
    this.config = SemanticChunkerConfigSchema.parse(config);
  }

  async chunk(document: SourceDocument): Promise<ChunkDraft[]> {
    const { text } = document;
    const { size, minTokens, threshold } = this.config;
    const tokenizer = getTokenizer(this.config.encoding);
    const sentences = sentenceSpans(text).flatMap((span) => tokenWindows(text, span, size, 0, tokenizer));
    if (sentences.length === 0) return [];
    const vectors = await this.embedder.embed(
      sentences.map((span) => text.slice(span.start, span.end)),
      'document',
    );
    const chunks: Span[] = [];
    let current: Span = { ...(sentences[0] as Span) };
    for (let i = 1; i < sentences.length; i += 1) {
      const sentence = sentences[i] as Span;
      const similarity = dot(vectors[i - 1] as Float32Array, vectors[i] as Float32Array);
      const currentTokens = tokenizer.count(text.slice(current.start, current.end));
      const merged = tokenizer.count(text.slice(current.start, sentence.end));
      const topicShift = similarity < threshold && currentTokens >= minTokens;
      if (topicShift || merged > size) {
        chunks.push(current);
        current = { ...sentence };
      } else {
        current.end = sentence.end;
      }
    }
    chunks.push(current);
    return chunks.map((span) => toDraft(text, span, [], tokenizer));
  }
}
