// The one chunker registry: every chunker `ingest --chunker` can name. Adding a chunker is one file plus one entry
// here; ChunkerName, the zod enum and the CLI choices are derived from this record, and the mapped type checks that
// each factory builds a chunker whose `name` is its key.
import { z } from 'zod';
import { InvalidRequestError } from '../../core/errors.ts';
import type { Chunker, Embedder } from '../contracts.ts';
import { CodeChunker } from './code.ts';
import { FixedChunker } from './fixed.ts';
import { MarkdownChunker } from './markdown.ts';
import { RecursiveChunker } from './recursive.ts';
import { SemanticChunker } from './semantic.ts';

export interface ChunkerDependencies {
  /** Required by the semantic chunker only. */
  embedder?: Embedder;
}

type ChunkerFactories<Record> = {
  [Name in keyof Record]: (dependencies: ChunkerDependencies) => Chunker & { readonly name: Name };
};

function defineChunkers<Record extends ChunkerFactories<Record>>(record: Record): Record {
  return record;
}

export const CHUNKERS = defineChunkers({
  fixed: () => new FixedChunker(),
  recursive: () => new RecursiveChunker(),
  semantic: (dependencies) => {
    if (dependencies.embedder === undefined) {
      throw new InvalidRequestError('The semantic chunker needs an embedder, and none could be loaded.', {
        param: 'chunker',
      });
    }
    return new SemanticChunker(dependencies.embedder);
  },
  markdown: () => new MarkdownChunker(),
  code: () => new CodeChunker(),
});

export type ChunkerName = keyof typeof CHUNKERS;

export const CHUNKER_NAMES = Object.keys(CHUNKERS) as [ChunkerName, ...ChunkerName[]];

export const ChunkerNameSchema = z.enum(CHUNKER_NAMES);

export function createChunker(name: ChunkerName, dependencies: ChunkerDependencies = {}): Chunker {
  return CHUNKERS[name](dependencies);
}
