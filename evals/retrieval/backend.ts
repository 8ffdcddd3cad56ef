// Adapter from the retrieval stack (retrieval/: RetrievalIndex over a directory, lexical / vector / hybrid / rerank)
// to the evals' SearchBackend contract. Opens the index read-only with the embedder recorded in its manifest and
// the reranker it was configured with, offline. When the index degrades a mode (no embedder → BM25 only, no
// reranker → hybrid), the warning is passed on, so a "vector" row is never silently a BM25 row.
import type { SearchBackend, SearchHit, SearchMode } from '../contracts.ts';

export type OpenSearchResult =
  { ok: true; backend: SearchBackend; directory: string; close: () => Promise<void> } | { ok: false; reason: string };

export interface OpenRetrievalOptions {
  /** Directory holding named indexes (default: retrieval's default root). */
  indexRoot?: string;
  offline?: boolean;
}

export async function openRetrievalBackend(
  index: string,
  options: OpenRetrievalOptions = {},
): Promise<OpenSearchResult> {
  const [config, snapshot, models, indexModule] = await Promise.all([
    import('../../retrieval/config.ts'),
    import('../../retrieval/persistence/snapshot.ts'),
    import('../../retrieval/models/load.ts'),
    import('../../retrieval/retrieval-index.ts'),
  ]);
  let directory: string;
  try {
    directory = config.resolveIndexDirectory(index, options.indexRoot);
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
  const manifest = snapshot.readManifest(directory);
  if (!manifest) return { ok: false, reason: `no index at ${directory}` };
  const probe = await indexModule.RetrievalIndex.open({ directory });
  const rerankerModel = probe.store.setting('reranker_model') ?? config.defaultRerankModel();
  probe.close();
  const loaded = await models.loadModels({
    embedder: manifest.embedder?.model ?? null,
    reranker: rerankerModel,
    offline: options.offline ?? true,
  });
  const opened = await indexModule.RetrievalIndex.open({
    directory,
    embedder: loaded.embedder,
    reranker: loaded.reranker,
    ...(loaded.embedderError === null ? {} : { embedderError: loaded.embedderError }),
    ...(loaded.rerankerError === null ? {} : { rerankerError: loaded.rerankerError }),
  });
  const warnings = new Set<string>();
  const backend: SearchBackend = {
    modes: ['lexical', 'lexical-prf', 'vector', 'hybrid', 'rerank'],
    async search(query: string, mode: SearchMode, k: number): Promise<SearchHit[]> {
      const topK = Math.min(k, 1000);
      const response = await opened.search({ query, mode, topK, candidates: Math.max(50, topK) });
      if (response.effectiveMode !== mode) {
        for (const warning of response.warnings) warnings.add(`${mode} ran as ${response.effectiveMode}: ${warning}`);
      }
      return response.hits.map((hit) => ({ documentId: hit.documentId, chunkId: hit.chunkId, score: hit.score }));
    },
    takeWarnings() {
      const taken = [...warnings];
      warnings.clear();
      return taken;
    },
  };
  return {
    ok: true,
    backend,
    directory,
    async close() {
      opened.close();
      await loaded.embedder?.dispose();
      await loaded.reranker?.dispose();
    },
  };
}
