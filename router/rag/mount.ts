// How the router app mounts retrieval (retrieval/http/service.ts): `/v1/retrieve`, `/v1/rerank`, `/v1/embeddings` for
// the local embedding model (other models fall through to the router's proxying handler), and the chat-extension
// hook. The service is created lazily — retrieval's modules (ONNX runtime, hnswlib, SQLite) are imported and its
// models loaded in the background after start-up (`preload`) or on first use — so `serve` never waits for them and
// routers without a `retrieval` section load nothing.
import { existsSync } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import pino, { type DestinationStream } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { MODELS } from '../../models/catalog/models.ts';
import type { citationsPayload as retrievalCitationsPayload } from '../../retrieval/http/rag.ts';
import type { SnapshotEvent, SnapshotStatus } from '../../retrieval/http/index-registry.ts';
import type { RetrievalService } from '../../retrieval/http/service.ts';
import type { RouterConfig } from '../config/schema.ts';
import { NotFoundError } from '../../core/errors.ts';
import type { CitationsPayload, PreparedRagChat, RetrievalChat } from './chat.ts';
import type { RetrievalSectionConfig } from '../config/retrieval.ts';

export interface MountedRetrieval {
  /** Mount after auth, before the router's own /v1/embeddings handler. */
  readonly router: express.Router;
  /** The chat-extension hook; undefined when retrieval is off. */
  readonly chat: RetrievalChat | undefined;
  /** Resolves once the service is loaded (rejects if it could not be created); for tests and readiness. */
  ready(): Promise<void>;
  close(): Promise<void>;
  /** The local embedding model's name as GET /v1/models lists it (empty when there is none). */
  readonly embeddingModels: readonly string[];
  /** Per open index: the snapshot generation served and the last load failure (empty until retrieval is loaded). */
  snapshots(): SnapshotStatus[];
  /** Every name that selects the local embedder (its id, folder name and alias): chat with one is refused clearly. */
  readonly embeddingNames: readonly string[];
}

export interface RetrievalObservability {
  /** Where the snapshot gauges and counters are registered. */
  metrics?: Registry;
  /** Where snapshot swaps and load failures are logged (JSON lines; default stdout). */
  logDestination?: DestinationStream;
}

/** Snapshot metrics: the generation each index serves, swaps, load failures, and whether a newer one failed to load. */
function snapshotMetrics(registry: Registry, status: () => SnapshotStatus[]): (event: SnapshotEvent) => void {
  new Gauge({
    name: 'switchyard_retrieval_snapshot_generation',
    help: 'Index snapshot generation this replica answers queries from',
    labelNames: ['index'],
    registers: [registry],
    collect() {
      for (const entry of status()) this.set({ index: entry.index }, entry.generation);
    },
  });
  new Gauge({
    name: 'switchyard_retrieval_snapshot_stale',
    help: '1 while a newer published snapshot failed to load and an older one keeps serving',
    labelNames: ['index'],
    registers: [registry],
    collect() {
      for (const entry of status()) this.set({ index: entry.index }, entry.lastError === null ? 0 : 1);
    },
  });
  const swaps = new Counter({
    name: 'switchyard_retrieval_snapshot_swaps_total',
    help: 'Snapshots loaded in the background and swapped in',
    labelNames: ['index'],
    registers: [registry],
  });
  const failures = new Counter({
    name: 'switchyard_retrieval_snapshot_load_failures_total',
    help: 'Published snapshots that failed to load (the previous one kept serving)',
    labelNames: ['index'],
    registers: [registry],
  });
  return (event) => (event.type === 'swapped' ? swaps : failures).inc({ index: event.index });
}

const DEFAULT_CONTEXT_TOKENS = 8192;
/** retrieval's DEFAULT_EMBEDDING_MODEL (not imported: that module loads the model libraries; a test checks they agree). */
export const RETRIEVAL_DEFAULT_EMBEDDER = 'Xenova/all-MiniLM-L6-v2';

/** A local folder (relative to the working directory) becomes an absolute path; anything else is a hub id. */
export function resolveModelReference(reference: string): string {
  const local = resolve(reference);
  return existsSync(local) ? local : reference;
}

/** Context window of a router model: the catalog context of the first vLLM pool of its route. */
export function routeContextTokens(config: RouterConfig, model: string | undefined): number | undefined {
  const route = config.models.find((entry) => entry.name === model || entry.aliases.includes(model ?? ''))?.route;
  for (const poolName of route ?? []) {
    const pool = config.pools.find((entry) => entry.name === poolName);
    if (pool?.kind === 'vllm') return MODELS[pool.model].maxContext;
  }
  return undefined;
}

export function mountRetrieval(
  section: RetrievalSectionConfig | undefined,
  config: RouterConfig,
  observability: RetrievalObservability = {},
): MountedRetrieval {
  const router = express.Router();
  if (section === undefined || !section.enabled) {
    router.post(['/v1/retrieve', '/v1/rerank'], () => {
      throw new NotFoundError('Retrieval is not enabled on this router (config section `retrieval`).', {
        code: 'retrieval_disabled',
      });
    });
    return {
      router,
      chat: undefined,
      ready: async () => undefined,
      close: async () => undefined,
      embeddingModels: [],
      snapshots: () => [],
      embeddingNames: [],
    };
  }
  let loaded: RetrievalService | undefined;
  const snapshots = (): SnapshotStatus[] => loaded?.snapshotStatus() ?? [];
  const count = observability.metrics === undefined ? undefined : snapshotMetrics(observability.metrics, snapshots);
  const log = pino(
    { base: { component: 'retrieval' }, timestamp: pino.stdTimeFunctions.isoTime },
    observability.logDestination ?? pino.destination({ dest: 1, sync: false }),
  );
  const onEvent = (event: SnapshotEvent): void => {
    count?.(event);
    if (event.type === 'swapped')
      log.info(
        { event: 'snapshot_swapped', index: event.index, from: event.from, to: event.to, loadMs: event.loadMs },
        'snapshot swapped',
      );
    else
      log.error(
        { event: 'snapshot_load_failed', index: event.index, serving: event.serving, error: event.error },
        'snapshot failed to load; the previous one keeps serving',
      );
  };

  // Unset: $SWITCHYARD_EMBEDDER or retrieval's default, decided here so /v1/embeddings knows the name before loading.
  const embedder =
    section.embedder === null
      ? null
      : resolveModelReference(section.embedder ?? process.env['SWITCHYARD_EMBEDDER'] ?? RETRIEVAL_DEFAULT_EMBEDDER);
  const reranker =
    section.reranker === null
      ? null
      : section.reranker === undefined
        ? undefined
        : resolveModelReference(section.reranker);
  let loading: Promise<{ service: RetrievalService; citationsPayload: CitationsFunction }> | undefined;
  let closed = false;
  const load = (): Promise<{ service: RetrievalService; citationsPayload: CitationsFunction }> => {
    loading ??= (async () => {
      const [{ createRetrievalService }, { citationsPayload }, { defaultRerankModel }] = await Promise.all([
        import('../../retrieval/http/service.ts'),
        import('../../retrieval/http/rag.ts'),
        import('../../retrieval/config.ts'),
      ]);
      const service = await createRetrievalService({
        ...(section.indexRoot === undefined ? {} : { indexRoot: resolve(section.indexRoot) }),
        embedder,
        reranker: reranker === undefined ? defaultRerankModel() : reranker,
        offline: section.offline,
        ...(section.cacheDir === undefined ? {} : { cacheDir: section.cacheDir }),
        ...(section.fewShotDir === undefined ? {} : { fewShotDir: resolve(section.fewShotDir) }),
        ...(section.embeddingModel === undefined ? {} : { embeddingModelNames: [section.embeddingModel] }),
        contextWindow: (model) => section.contextTokens ?? routeContextTokens(config, model) ?? DEFAULT_CONTEXT_TOKENS,
        snapshots: { pollMs: section.snapshotPollMs, onEvent },
      });
      loaded = service;
      return { service, citationsPayload };
    })();
    // A failed load is retried by the next request instead of being cached.
    loading.catch(() => {
      loading = undefined;
    });
    return loading;
  };
  if (section.preload) setImmediate(() => void (closed ? undefined : load().catch(() => undefined)));

  // Names that select the local embedder on /v1/embeddings, known without loading it.
  const localEmbeddingNames = new Set<string>();
  if (embedder !== null) {
    localEmbeddingNames.add(embedder).add(basename(embedder));
    if (section.embeddingModel !== undefined) localEmbeddingNames.add(section.embeddingModel);
  }

  const delegate = async (request: Request, response: Response, next: NextFunction): Promise<void> => {
    const { service } = await load();
    service.router(request, response, next);
  };
  router.post(['/v1/retrieve', '/v1/rerank'], delegate);
  router.post('/v1/embeddings', async (request: Request, response: Response, next: NextFunction) => {
    const model = (request.body as { model?: unknown } | undefined)?.model;
    if (typeof model === 'string' && localEmbeddingNames.has(model)) await delegate(request, response, next);
    else next();
  });

  // Listed under the name a client should send: the configured alias, a hub id as it is, a local folder by its name.
  const listedName =
    embedder === null ? undefined : (section.embeddingModel ?? (isAbsolute(embedder) ? basename(embedder) : embedder));
  return {
    router,
    embeddingModels: listedName === undefined ? [] : [listedName],
    snapshots,
    embeddingNames: [...localEmbeddingNames],
    chat: {
      async prepare(body: unknown): Promise<PreparedRagChat> {
        const { service, citationsPayload } = await load();
        const prepared = await service.prepareChat(body);
        return {
          body: prepared.body,
          citations: (answer): CitationsPayload => ({
            index: prepared.retrieval?.index ?? null,
            mode: prepared.retrieval?.effectiveMode ?? null,
            warnings: prepared.retrieval?.warnings ?? [],
            ...citationsPayload(answer, prepared.citations),
            few_shot: prepared.fewShot.map((example) => example.id),
          }),
          sources: prepared.citations.map((source) => ({ marker: source.marker, text: source.text })),
        };
      },
    },
    ready: async () => {
      await load();
    },
    async close() {
      closed = true;
      const pending = loading;
      if (pending === undefined) return;
      const loaded = await pending.catch(() => undefined);
      await loaded?.service.close();
    },
  };
}

type CitationsFunction = typeof retrievalCitationsPayload;
