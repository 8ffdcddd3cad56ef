// Picks the semantic stage's embedder. `retrieval` adapts the retrieval stack's ONNX embedder (see
// retrieval-adapter.ts); `hashed` is the deterministic bag-of-words fallback; `auto` tries retrieval and falls back
// to hashed with a warning — never silently: the report records `embedder.fallback: true`.
import type { Embedder } from '../contracts.ts';
import { HashedBagOfWordsEmbedder } from './hashed.ts';
import { loadRetrievalEmbedder } from './retrieval-adapter.ts';

export type EmbedderChoice = 'auto' | 'retrieval' | 'hashed';

export interface SelectedEmbedder {
  embedder: Embedder;
  fallback: boolean;
  /** Why the fallback was used (shown to the user). */
  note: string | null;
}

export async function selectEmbedder(choice: EmbedderChoice, model?: string): Promise<SelectedEmbedder> {
  if (choice === 'hashed') {
    return { embedder: new HashedBagOfWordsEmbedder(), fallback: true, note: 'hashed bag-of-words embedder selected' };
  }
  const loaded = await loadRetrievalEmbedder(model);
  if (loaded.ok) return { embedder: loaded.embedder, fallback: false, note: null };
  if (choice === 'retrieval') throw new Error(`retrieval embedder unavailable: ${loaded.reason}`);
  return {
    embedder: new HashedBagOfWordsEmbedder(),
    fallback: true,
    note: `retrieval embedder unavailable (${loaded.reason}); using the hashed bag-of-words fallback`,
  };
}
