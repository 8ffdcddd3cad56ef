// Adapter from the retrieval stack's embedder (retrieval/models: ONNX through transformers.js, L2-normalised) to the
// evals' Embedder contract. Loaded lazily (dynamic import) so runs that use the hashed fallback never load
// onnxruntime. Offline by default: an eval run never downloads a model behind your back; point --embedding-model
// at a local folder or a model already in the cache.
import type { Embedder } from '../contracts.ts';

export type RetrievalEmbedderResult = { ok: true; embedder: Embedder } | { ok: false; reason: string };

interface RetrievalEmbedder {
  readonly modelId: string;
  embed(texts: readonly string[], kind: 'query' | 'document'): Promise<Float32Array[]>;
  dispose(): Promise<void>;
}

export class RetrievalEmbedderAdapter implements Embedder {
  readonly id: string;
  constructor(private readonly inner: RetrievalEmbedder) {
    this.id = `retrieval:${inner.modelId}`;
  }

  async embed(texts: readonly string[]): Promise<number[][]> {
    if (texts.length === 0) return [];
    // Answers, references and contexts are all passages: embed them as documents (same prefix on both sides).
    const vectors = await this.inner.embed(texts, 'document');
    return vectors.map((vector) => Array.from(vector));
  }

  close(): Promise<void> {
    return this.inner.dispose();
  }
}

export async function loadRetrievalEmbedder(model?: string, offline = true): Promise<RetrievalEmbedderResult> {
  try {
    const [{ loadModels }, { defaultEmbeddingModel }] = await Promise.all([
      import('../../retrieval/models/load.ts'),
      import('../../retrieval/config.ts'),
    ]);
    const chosen = model ?? defaultEmbeddingModel();
    const loaded = await loadModels({ embedder: chosen, offline });
    if (!loaded.embedder) return { ok: false, reason: loaded.embedderError ?? `could not load ${chosen}` };
    return { ok: true, embedder: new RetrievalEmbedderAdapter(loaded.embedder) };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}
