// A SearchBackend over the evals' own test collection (retrieval/collection), for tests of `eval retrieval`
// without the retrieval stack: each sentence is a chunk; `lexical` scores by shared query words, `vector` by the
// hashed bag-of-words cosine. Small, exact and deterministic — not a search engine.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SearchBackend, SearchHit, SearchMode } from '../contracts.ts';
import { HashedBagOfWordsEmbedder } from '../embedders/hashed.ts';
import { cosine, splitSentences, wordTokens } from '../metrics/text.ts';

const STOPWORDS = new Set(['the', 'a', 'an', 'of', 'to', 'and', 'how', 'do', 'what', 'where', 'are', 'is', 'in']);

interface Chunk {
  documentId: string;
  chunkId: string;
  text: string;
}

export function loadCollectionChunks(directory = join(import.meta.dirname, '..', 'retrieval', 'collection')): Chunk[] {
  return readFileSync(join(directory, 'documents.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      const document = JSON.parse(line) as { id: string; title: string; text: string };
      return [document.title, ...splitSentences(document.text)].map((text, index) => ({
        documentId: document.id,
        chunkId: `${document.id}#${index}`,
        text,
      }));
    });
}

export class CollectionSearchBackend implements SearchBackend {
  readonly modes: readonly SearchMode[] = ['lexical', 'vector'];
  private readonly embedder = new HashedBagOfWordsEmbedder(256);
  constructor(private readonly chunks: readonly Chunk[] = loadCollectionChunks()) {}

  async search(query: string, mode: SearchMode, k: number): Promise<SearchHit[]> {
    let scores: number[];
    if (mode === 'lexical') {
      const terms = new Set(wordTokens(query).filter((term) => !STOPWORDS.has(term)));
      scores = this.chunks.map((chunk) => wordTokens(chunk.text).filter((token) => terms.has(token)).length);
    } else {
      const vectors = await this.embedder.embed([query, ...this.chunks.map((chunk) => chunk.text)]);
      scores = this.chunks.map((_chunk, index) => cosine(vectors[0] ?? [], vectors[index + 1] ?? []));
    }
    return this.chunks
      .map((chunk, index) => ({ documentId: chunk.documentId, chunkId: chunk.chunkId, score: scores[index] ?? 0 }))
      .filter((hit) => hit.score > 0)
      .sort((a, b) => b.score - a.score || a.chunkId.localeCompare(b.chunkId))
      .slice(0, k);
  }
}
