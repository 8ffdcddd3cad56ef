// Everything the router needs from retrieval, built from a few settings: the Express Router with the endpoints and
// the chat-extension hook, sharing one set of loaded models, one index registry and the few-shot banks.
//
//   const retrieval = await createRetrievalService({ indexRoot, embedder, reranker, fewShotDir, offline });
//   app.use(retrieval.router);                                            // /v1/retrieve, /v1/rerank, /v1/embeddings
//   if (retrieval.hasExtensions(body)) prepared = await retrieval.prepareChat(body);   // rag / few_shot
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Router } from 'express';
import { defaultIndexRoot, storedModelReference } from '../config.ts';
import type { Embedder } from '../contracts.ts';
import { InvalidRequestError, NotFoundError } from '../errors.ts';
import { FewShotBank } from '../few-shot/bank.ts';
import { loadModels, type LoadedModels } from '../models/load.ts';
import { IndexRegistry, type IndexRegistryOptions, type SnapshotStatus } from './index-registry.ts';
import {
  applyRetrievalExtensions,
  hasRetrievalExtensions,
  type FewShotProvider,
  type RetrievalChatResult,
} from './rag.ts';
import { createRetrievalRouter } from './router.ts';

export interface RetrievalServiceOptions {
  indexRoot?: string;
  /** Model served by /v1/embeddings (hub id or local folder); null: none. Indexes use the model in their manifest. */
  embedder?: string | null;
  reranker?: string | null;
  offline?: boolean;
  cacheDir?: string;
  /** Folder of few-shot banks, one `<bank>.jsonl` each. */
  fewShotDir?: string;
  /** Context window of a chat model, for the RAG token budget (default 8192). */
  contextWindow?: (model: string | undefined) => number;
  embeddingModelNames?: readonly string[];
  /** false: do not serve /v1/embeddings from the local model. */
  serveEmbeddings?: boolean;
  clock?: () => number;
  /** How replicas follow snapshots published by the writer (see index-registry.ts). */
  snapshots?: Pick<IndexRegistryOptions, 'pollMs' | 'retireMs' | 'retryMs' | 'onEvent'>;
}

export interface RetrievalService {
  router: Router;
  hasExtensions(body: unknown): boolean;
  prepareChat(body: unknown): Promise<RetrievalChatResult>;
  /** Per open index: the snapshot generation served and the last load failure (for /health and metrics). */
  snapshotStatus(): SnapshotStatus[];
  close(): Promise<void>;
}

export async function createRetrievalService(options: RetrievalServiceOptions): Promise<RetrievalService> {
  const common = {
    ...(options.offline === undefined ? {} : { offline: options.offline }),
    ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
  };
  const served = await loadModels({
    embedder:
      options.embedder === undefined || options.embedder === null ? null : storedModelReference(options.embedder),
    reranker:
      options.reranker === undefined || options.reranker === null ? null : storedModelReference(options.reranker),
    ...common,
  });
  const embedders = new Map<string, Promise<LoadedModels>>();
  const embedderFor = async (model: string): Promise<{ embedder: Embedder | null; error: string | null }> => {
    if (served.embedder !== null && served.embedder.modelId === model)
      return { embedder: served.embedder, error: null };
    let loading = embedders.get(model);
    if (loading === undefined) {
      loading = loadModels({ embedder: model, ...common });
      embedders.set(model, loading);
    }
    const loaded = await loading;
    return { embedder: loaded.embedder, error: loaded.embedderError };
  };
  const registry = new IndexRegistry({
    root: options.indexRoot ?? defaultIndexRoot(),
    embedderFor,
    reranker: served.reranker,
    ...(served.rerankerError === null ? {} : { rerankerError: served.rerankerError }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...options.snapshots,
  });

  const banks = new Map<string, Promise<FewShotBank>>();
  const fewShotBanks: FewShotProvider = {
    get(name: string): Promise<FewShotBank> {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
        return Promise.reject(
          new InvalidRequestError(`Invalid few-shot bank name "${name}".`, { param: 'few_shot.bank' }),
        );
      }
      const path = options.fewShotDir === undefined ? null : join(options.fewShotDir, `${name}.jsonl`);
      if (path === null || !existsSync(path)) {
        return Promise.reject(
          new NotFoundError(`Few-shot bank "${name}" does not exist.`, {
            param: 'few_shot.bank',
            code: 'bank_not_found',
          }),
        );
      }
      let bank = banks.get(name);
      if (bank === undefined) {
        bank = FewShotBank.fromJsonl(name, path, served.embedder);
        banks.set(name, bank);
        bank.catch(() => banks.delete(name));
      }
      return bank;
    },
  };

  const router = createRetrievalRouter({
    indexes: registry,
    embedder: served.embedder,
    ...(served.embedderError === null ? {} : { embedderError: served.embedderError }),
    reranker: served.reranker,
    ...(served.rerankerError === null ? {} : { rerankerError: served.rerankerError }),
    fewShotBanks,
    ...(options.embeddingModelNames === undefined ? {} : { embeddingModelNames: options.embeddingModelNames }),
    ...(options.serveEmbeddings === undefined ? {} : { serveEmbeddings: options.serveEmbeddings }),
  });
  return {
    router,
    hasExtensions: hasRetrievalExtensions,
    prepareChat: (body) =>
      applyRetrievalExtensions(body, {
        indexes: registry,
        fewShotBanks,
        ...(options.contextWindow === undefined ? {} : { contextWindow: options.contextWindow }),
      }),
    snapshotStatus: () => registry.status(),
    async close() {
      registry.close();
      await served.embedder?.dispose();
      await served.reranker?.dispose();
      for (const loading of embedders.values()) await (await loading).embedder?.dispose();
    },
  };
}
