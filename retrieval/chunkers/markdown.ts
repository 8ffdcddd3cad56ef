// Document-structure chunker: one chunk per Markdown section (heading + body, fenced code ignored when looking for
// headings), carrying the heading path; sections over budget are split recursively inside the section.
import { z } from 'zod';
import type { Chunker, ChunkDraft, SourceDocument } from '../contracts.ts';
import { getTokenizer, TokenEncodingSchema } from '../tokens.ts';
import { RecursiveChunker } from './recursive.ts';
import { toDraft, type Span } from './spans.ts';

export const MarkdownChunkerConfigSchema = z
  .object({
    size: z.number().int().positive().default(800),
    overlap: z.number().int().nonnegative().default(100),
    encoding: TokenEncodingSchema.default('cl100k_base'),
  })
  .refine((config) => config.overlap < config.size, { message: 'overlap must be smaller than size' });

export interface Section extends Span {
  headingPath: string[];
}

/** Sections of a Markdown text: each starts at a heading line (or at 0 for the preamble) and runs to the next. */
export function markdownSections(text: string): Section[] {
  const sections: Section[] = [];
  const stack: { level: number; title: string }[] = [];
  let current: Section = { start: 0, end: text.length, headingPath: [] };
  let inFence = false;
  let offset = 0;
  for (const line of text.split('\n')) {
    const lineStart = offset;
    offset += line.length + 1;
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    if (inFence) continue;
    const heading = /^(#{1,6})\s+(.+?)\s*#*\s*$/.exec(line);
    if (heading === null) continue;
    const level = (heading[1] as string).length;
    while (stack.length > 0 && (stack[stack.length - 1] as { level: number }).level >= level) stack.pop();
    stack.push({ level, title: (heading[2] as string).trim() });
    current.end = lineStart;
    if (current.end > current.start) sections.push(current);
    current = { start: lineStart, end: text.length, headingPath: stack.map((entry) => entry.title) };
  }
  if (current.end > current.start) sections.push(current);
  return sections.filter((section) => text.slice(section.start, section.end).trim().length > 0);
}

export class MarkdownChunker implements Chunker {
  readonly name = 'markdown';
  private readonly inner: RecursiveChunker;
  private readonly encoding: z.infer<typeof TokenEncodingSchema>;

  constructor(config: z.input<typeof MarkdownChunkerConfigSchema> = {}) {
    const parsed = MarkdownChunkerConfigSchema.parse(config);
    this.encoding = parsed.encoding;
    this.inner = new RecursiveChunker(parsed);
  }

  async chunk(document: SourceDocument): Promise<ChunkDraft[]> {
    const tokenizer = getTokenizer(this.encoding);
    const { text } = document;
    return markdownSections(text).flatMap((section) =>
      this.inner.spans(text, section, tokenizer).map((span) => toDraft(text, span, section.headingPath, tokenizer)),
    );
  }
}
