// Loads the embedder and reranker for a command or server, turning failures into "unavailable" plus a reason instead
// of errors: retrieval then degrades (BM25 only, or no rerank) and says why.
import type { Embedder, Reranker } from '../contracts.ts';
import { TransformersEmbedder } from './embedder.ts';
import { OnnxCrossEncoder } from './reranker.ts';

export interface LoadedModels {
  embedder: Embedder | null;
  embedderError: string | null;
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
}

export async function loadModels(choice: ModelChoice): Promise<LoadedModels> {
  const common = {
    offline: choice.offline ?? false,
    ...(choice.cacheDir === undefined ? {} : { cacheDir: choice.cacheDir }),
  };
  const out: LoadedModels = { embedder: null, embedderError: 'no embedder configured', reranker: null, rerankerError: 'no reranker configured' };
  if (choice.embedder) {
    try {
      out.embedder = await TransformersEmbedder.load({
        model: choice.embedder,
        ...common,
        ...(choice.dimensions === undefined ? {} : { dimensions: choice.dimensions }),
      });
      out.embedderError = null;
    } catch (error) {
      out.embedderError = error instanceof Error ? error.message : String(error);
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
