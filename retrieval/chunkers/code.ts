// Code-aware chunker: functions, classes and methods are units that are never split while they fit in the budget.
// A class over budget is split into its members (heading path Class › method); glue between declarations (imports,
// statements) is packed together; a single function over budget falls back to line-based recursive splitting.
// Languages without a grammar here fall back to the recursive chunker with line separators.
import { z } from 'zod';
import type { Chunker, ChunkDraft, SourceDocument } from '../contracts.ts';
import { getTokenizer, TokenEncodingSchema, type Tokenizer } from '../tokens.ts';
import { codeLanguageOf } from './code-language.ts';
import { codeUnits, type CodeUnit } from './code-units.ts';
import { RecursiveChunker } from './recursive.ts';
import { nonBlank, packSpans, toDraft, type Span } from './spans.ts';

export const CodeChunkerConfigSchema = z.object({
  size: z.number().int().positive().default(800),
  encoding: TokenEncodingSchema.default('cl100k_base'),
});

interface PathSpan extends Span {
  headingPath: string[];
}

export class CodeChunker implements Chunker {
  readonly name = 'code';
  private readonly size: number;
  private readonly encoding: z.infer<typeof TokenEncodingSchema>;
  private readonly lineSplitter: RecursiveChunker;

  constructor(config: z.input<typeof CodeChunkerConfigSchema> = {}) {
    const parsed = CodeChunkerConfigSchema.parse(config);
    this.size = parsed.size;
    this.encoding = parsed.encoding;
    this.lineSplitter = new RecursiveChunker({
      size: parsed.size,
      overlap: 0,
      separators: ['\n\n', '\n', ' '],
      encoding: parsed.encoding,
    });
  }

  async chunk(document: SourceDocument): Promise<ChunkDraft[]> {
    const tokenizer = getTokenizer(this.encoding);
    const { text } = document;
    const language = document.language ?? codeLanguageOf(document.sourcePath);
    const units = await codeUnits(text, language, document.sourcePath);
    const spans: PathSpan[] =
      units === null
        ? this.lineSplitter
            .spans(text, { start: 0, end: text.length }, tokenizer)
            .map((span) => ({ ...span, headingPath: [] }))
        : this.layout(text, units, [], tokenizer);
    return spans
      .filter((span) => text.slice(span.start, span.end).trim().length > 0)
      .map((span) => toDraft(text, span, span.headingPath, tokenizer));
  }

  private layout(text: string, units: readonly CodeUnit[], path: string[], tokenizer: Tokenizer): PathSpan[] {
    const out: PathSpan[] = [];
    let glue: Span[] = [];
    const flushGlue = (): void => {
      const pieces = glue.flatMap((piece) => this.fitting(text, piece, tokenizer));
      for (const span of nonBlank(text, packSpans(text, pieces, this.size, 0, tokenizer))) {
        out.push({ ...span, headingPath: path });
      }
      glue = [];
    };
    for (const unit of units) {
      if (unit.name === null) {
        glue.push(unit);
        continue;
      }
      flushGlue();
      const unitPath = [...path, unit.name];
      if (tokenizer.count(text.slice(unit.start, unit.end)) <= this.size) {
        out.push({ start: unit.start, end: unit.end, headingPath: unitPath });
      } else if (unit.children.length > 0) {
        out.push(...this.layout(text, unit.children, unitPath, tokenizer));
      } else {
        for (const span of this.lineSplitter.spans(text, unit, tokenizer)) out.push({ ...span, headingPath: unitPath });
      }
    }
    flushGlue();
    return out;
  }

  /** Glue pieces over budget are split by lines so that packing can place them. */
  private fitting(text: string, piece: Span, tokenizer: Tokenizer): Span[] {
    if (tokenizer.count(text.slice(piece.start, piece.end)) <= this.size) return [piece];
    return this.lineSplitter.spans(text, piece, tokenizer);
  }
}
