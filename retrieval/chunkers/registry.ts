// Chunker registry: name → factory. A new chunker is one file plus one line here.
import { z } from 'zod';
import type { Chunker, ChunkerName, Embedder } from '../contracts.ts';
import { CodeChunker } from './code.ts';
import { FixedChunker } from './fixed.ts';
import { MarkdownChunker } from './markdown.ts';
import { RecursiveChunker } from './recursive.ts';
import { SemanticChunker } from './semantic.ts';

export const ChunkerNameSchema = z.enum(['fixed', 'recursive', 'semantic', 'markdown', 'code']);

export interface ChunkerDependencies {
  /** Required by the semantic chunker only. */
  embedder?: Embedder;
}

export function createChunker(name: ChunkerName, dependencies: ChunkerDependencies = {}): Chunker {
  switch (name) {
    case 'fixed':
      return new FixedChunker();
    case 'recursive':
      return new RecursiveChunker();
    case 'markdown':
      return new MarkdownChunker();
    case 'code':
      return new CodeChunker();
    case 'semantic': {
      if (dependencies.embedder === undefined) {
        throw new Error('The semantic chunker needs an embedder, and none could be loaded.');
      }
      return new SemanticChunker(dependencies.embedder);
    }
  }
}
