// Conformance suite for Chunker implementations: budget respected (token-exact), chunk text matches its offsets,
// chunks cover every non-whitespace character in order, overlap within what was configured.
import { describe, expect, it } from 'vitest';
import type { Chunker, ChunkDraft, SourceDocument } from '../contracts.ts';
import { getTokenizer } from '../tokens.ts';

export interface ChunkerConformanceOptions {
  create(): Chunker;
  /** Max tokens per chunk the chunker was configured with. */
  size: number;
  /** Max tokens shared by consecutive chunks (0: chunks must not overlap). */
  overlap: number;
  documents: readonly SourceDocument[];
}

export function runChunkerConformance(name: string, options: ChunkerConformanceOptions): void {
  const tokenizer = getTokenizer('cl100k_base');

  describe(`Chunker conformance: ${name}`, () => {
    for (const document of options.documents) {
      describe(document.id, () => {
        let chunks: ChunkDraft[] = [];
        it('stays within the token budget, with exact token counts and offsets', async () => {
          chunks = await options.create().chunk(document);
          expect(chunks.length).toBeGreaterThan(1);
          for (const chunk of chunks) {
            expect(chunk.text).toBe(document.text.slice(chunk.start, chunk.end));
            expect(chunk.tokenCount).toBe(tokenizer.count(chunk.text));
            expect(chunk.tokenCount).toBeLessThanOrEqual(options.size);
            expect(chunk.text.trim().length).toBeGreaterThan(0);
          }
        });

        it('covers every non-whitespace character, in order', () => {
          const covered = new Uint8Array(document.text.length);
          let previousStart = -1;
          for (const chunk of chunks) {
            expect(chunk.start).toBeGreaterThanOrEqual(previousStart);
            previousStart = chunk.start;
            covered.fill(1, chunk.start, chunk.end);
          }
          const missed = [...document.text].filter((char, i) => covered[i] === 0 && char.trim().length > 0);
          expect(missed.join('')).toBe('');
        });

        it('overlaps neighbours by no more than configured', () => {
          let overlapping = 0;
          for (let i = 1; i < chunks.length; i += 1) {
            const previous = chunks[i - 1] as ChunkDraft;
            const current = chunks[i] as ChunkDraft;
            if (current.start >= previous.end) continue;
            overlapping += 1;
            const shared = document.text.slice(current.start, previous.end);
            // Re-tokenising a shared edge can differ from the window by a token.
            expect(tokenizer.count(shared)).toBeLessThanOrEqual(options.overlap + 1);
          }
          if (options.overlap === 0) expect(overlapping).toBe(0);
          else expect(overlapping).toBeGreaterThan(0);
        });
      });
    }
  });
}
