// Loads the embedder and reranker for a command or server, turning failures into "unavailable" plus a reason instead
// of errors: retrieval then degrades (BM25 only, or no rerank) and says why. The word-vector embedder
// (WORD_VECTOR_MODEL) needs no model hub; with `wordVectorFallback` it stands in when a transformer model cannot load.
import type { Embedder, Reranker } from '../contracts.ts';
import { TransformersEmbedder } from './embedder.ts';
import { OnnxCrossEncoder } from './reranker.ts';
import { WORD_VECTOR_MODEL, WordVectorEmbedder } from './word-vectors/embedder.ts';

export interface LoadedModels {
  embedder: Embedder | null;
  embedderError: string | null;
  /** Set when the word-vector embedder stands in for the requested model: which model and why. */
  embedderFallback: string | null;
  reranker: Reranker | null;
  rerankerError: string | null;
}

export interface ModelChoice {
  /** Hub id or local folder; null/undefined: do not load. */
  embedder?: string | null;
  reranker?: string | null;
  offline?: boolean;
  cacheDir?: string;
  dimensions?: number;
  /** Load the word-vector embedder when the transformer embedder cannot be loaded. */
  wordVectorFallback?: boolean;
}

export async function loadModels(choice: ModelChoice): Promise<LoadedModels> {
  const common = {
    offline: choice.offline ?? false,
    ...(choice.cacheDir === undefined ? {} : { cacheDir: choice.cacheDir }),
  };
  const out: LoadedModels = {
    embedder: null,
    embedderError: 'no embedder configured',
    embedderFallback: null,
    reranker: null,
    rerankerError: 'no reranker configured',
  };
  const wordVectors = () =>
    WordVectorEmbedder.load({
      ...(choice.cacheDir === undefined ? {} : { cacheDir: choice.cacheDir }),
      ...(choice.dimensions === undefined ? {} : { dimensions: choice.dimensions }),
    });
  if (choice.embedder === WORD_VECTOR_MODEL) {
    try {
      out.embedder = await wordVectors();
      out.embedderError = null;
    } catch (error) {
      out.embedderError = error instanceof Error ? error.message : String(error);
    }
  } else if (choice.embedder) {
    try {
      out.embedder = await TransformersEmbedder.load({
        model: choice.embedder,
        ...common,
        ...(choice.dimensions === undefined ? {} : { dimensions: choice.dimensions }),
      });
      out.embedderError = null;
    } catch (error) {
      out.embedderError = error instanceof Error ? error.message : String(error);
      if (choice.wordVectorFallback === true) {
        try {
          out.embedder = await wordVectors();
          out.embedderFallback = `${choice.embedder} is not available${common.offline ? ' offline' : ''}; using ${WORD_VECTOR_MODEL} (word vectors)`;
          out.embedderError = null;
        } catch (fallbackError) {
          out.embedderError += `; word vectors: ${fallbackError instanceof Error ? fallbackError.message : String(fallbackError)}`;
        }
      }
    }
  }
  if (choice.reranker) {
    try {
      out.reranker = await OnnxCrossEncoder.load({ model: choice.reranker, ...common });
      out.rerankerError = null;
    } catch (error) {
      out.rerankerError = error instanceof Error ? error.message : String(error);
    }
  }
  return out;
}
