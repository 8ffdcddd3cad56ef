// A retrieval index: chunk store + BM25 + HNSW over one directory, with the models that feed it. Writers take the
// directory's lock; every `save()` is an atomic snapshot (see persistence/snapshot.ts). Re-ingesting a changed
// document replaces its chunks everywhere; an unchanged one (same content hash and chunker) is skipped, which is what
// makes an interrupted ingest resumable.
import { existsSync, mkdirSync } from 'node:fs';
import type { z } from 'zod';
import type { Chunker, Embedder, Reranker, SourceDocument } from './contracts.ts';
import { InvalidRequestError, ModelUnavailableError } from './errors.ts';
import { Bm25Index, type Bm25Config } from './indexes/bm25.ts';
import { HnswIndex, type HnswConfigSchema } from './indexes/hnsw.ts';
import { acquireWriteLock, type WriteLock } from './persistence/lock.ts';
import type { Manifest } from './persistence/manifest.ts';
import {
  loadSnapshot,
  readManifest,
  removeUnreferenced,
  saveSnapshot,
  type SaveHook,
  type SnapshotRetention,
} from './persistence/snapshot.ts';
import { searchIndex, type SearchRequestSchema, type SearchResponse } from './search/hybrid.ts';
import { ChunkStore, sha256 } from './store/chunk-store.ts';

export interface OpenIndexOptions {
  directory: string;
  /** Create an empty index when the directory has none. */
  create?: boolean;
  /** Take the write lock (ingest). Readers (query, server) do not. */
  writable?: boolean;
  /** null: no embedder could be loaded (queries fall back to BM25). */
  embedder?: Embedder | null;
  /** Why the embedder is missing, for warnings. */
  embedderError?: string;
  reranker?: Reranker | null;
  rerankerError?: string;
  hnsw?: Partial<z.input<typeof HnswConfigSchema>>;
  bm25?: Partial<Bm25Config>;
  clock?: () => number;
  /** Writers: how long superseded snapshots stay on disk for readers still loading them (persistence/snapshot.ts). */
  snapshotGraceMs?: number;
}

/** The text a chunk is embedded from: its document's title first, unless the chunk already starts with it. */
export function withTitle(title: string, text: string): string {
  return title === '' || text.startsWith(title) ? text : `${title}\n${text}`;
}

export type UpsertStatus = 'added' | 'updated' | 'unchanged';

export class RetrievalIndex {
  private lock: WriteLock | null = null;
  private retention: SnapshotRetention = {};

  private constructor(
    readonly directory: string,
    readonly store: ChunkStore,
    readonly bm25: Bm25Index,
    readonly hnsw: HnswIndex | null,
    readonly embedder: Embedder | null,
    private rerankerModel: Reranker | null,
    private manifest: Manifest | null,
    readonly notes: { embedderError: string | null; rerankerError: string | null },
    readonly clock: () => number,
  ) {}

  static async open(options: OpenIndexOptions): Promise<RetrievalIndex> {
    const { directory } = options;
    if (!existsSync(directory)) {
      if (options.create !== true)
        throw new InvalidRequestError(`No index at ${directory}.`, { code: 'index_not_found' });
      mkdirSync(directory, { recursive: true });
    }
    const lock = options.writable === true ? acquireWriteLock(directory) : null;
    const retention = options.snapshotGraceMs === undefined ? {} : { graceMs: options.snapshotGraceMs };
    try {
      const manifest = readManifest(directory);
      if (manifest === null && options.create !== true) {
        throw new InvalidRequestError(`No index at ${directory} (no manifest.json).`, { code: 'index_not_found' });
      }
      let embedder = options.embedder ?? null;
      let embedderError = options.embedderError ?? (embedder === null ? 'no embedder configured' : null);
      if (manifest?.embedder && embedder !== null) {
        const wanted = manifest.embedder;
        if (embedder.dimensions !== wanted.dimensions || embedder.modelId !== wanted.model) {
          const message = `Index ${directory} holds ${wanted.dimensions}-d vectors from "${wanted.model}"; the embedder is "${embedder.modelId}" (${embedder.dimensions}-d).`;
          if (options.writable === true) throw new InvalidRequestError(message, { code: 'embedder_mismatch' });
          embedderError = message;
          embedder = null;
        }
      }
      let store: ChunkStore;
      let bm25: Bm25Index;
      let hnsw: HnswIndex | null;
      if (manifest === null) {
        store = ChunkStore.create();
        bm25 = new Bm25Index(options.bm25);
        hnsw = embedder === null ? null : new HnswIndex(embedder.dimensions, options.hnsw);
      } else {
        const parts = await loadSnapshot(directory, manifest, options.hnsw?.ef);
        ({ store, bm25, hnsw } = parts);
        if (options.writable === true) removeUnreferenced(directory, manifest, retention);
      }
      if (options.writable === true && hnsw === null && embedder !== null && store.counts().chunks > 0) {
        throw new InvalidRequestError(
          `Index ${directory} was built without an embedder; re-ingest into a new index to add vectors.`,
          { code: 'embedder_mismatch' },
        );
      }
      if (options.writable === true && hnsw !== null && embedder === null) {
        throw new ModelUnavailableError(
          `Cannot ingest into ${directory}: it needs the embedder "${manifest?.embedder?.model ?? '?'}", which is unavailable (${embedderError}).`,
        );
      }
      const index = new RetrievalIndex(
        directory,
        store,
        bm25,
        hnsw,
        hnsw === null ? null : embedder,
        options.reranker ?? null,
        manifest,
        {
          embedderError: hnsw === null ? (embedderError ?? 'the index has no vectors') : embedderError,
          rerankerError: options.reranker ? null : (options.rerankerError ?? 'no reranker configured'),
        },
        options.clock ?? Date.now,
      );
      index.lock = lock;
      index.retention = retention;
      return index;
    } catch (error) {
      lock?.release();
      throw error;
    }
  }

  get reranker(): Reranker | null {
    return this.rerankerModel;
  }

  /** Attaches (or detaches, with the reason) the cross-encoder used by rerank mode. */
  useReranker(reranker: Reranker | null, error?: string): void {
    this.rerankerModel = reranker;
    this.notes.rerankerError = reranker === null ? (error ?? 'no reranker configured') : null;
  }

  get generation(): number {
    return this.manifest?.generation ?? 0;
  }

  /** Adds or replaces a document; skips it when its content and chunker are unchanged. */
  async upsertDocument(
    document: SourceDocument,
    chunker: Chunker,
    options: { sourceRoot?: string | null } = {},
  ): Promise<{ status: UpsertStatus; chunks: number }> {
    this.assertWritable();
    const contentHash = sha256(
      `${chunker.name}\n${document.title}\n${JSON.stringify(document.metadata)}\n${document.text}`,
    );
    const existing = this.store.document(document.id);
    if (existing !== null && existing.contentHash === contentHash)
      return { status: 'unchanged', chunks: existing.chunkCount };
    const drafts = await chunker.chunk(document);
    // Embed before touching any index, so a model failure leaves the document as it was.
    const vectors =
      this.embedder === null || drafts.length === 0
        ? []
        : await this.embedder.embed(
            drafts.map((draft) => withTitle(document.title, draft.text)),
            'document',
          );
    const { removed, chunks } = this.store.replaceDocument(document, drafts, {
      chunker: chunker.name,
      sourceRoot: options.sourceRoot ?? null,
      contentHash,
    });
    this.bm25.delete(removed);
    this.hnsw?.delete(removed);
    // The title counts twice for BM25 (title weight 2 measured on CACM: +0.015 nDCG@10 over once; retrieval/README.md).
    this.bm25.add(
      chunks.map((chunk) => ({
        key: chunk.key,
        text: `${chunk.metadata.title}\n${chunk.metadata.title}\n${chunk.text}`,
      })),
    );
    this.hnsw?.add(chunks.map((chunk, i) => ({ key: chunk.key, vector: vectors[i] as Float32Array })));
    return { status: existing === null ? 'added' : 'updated', chunks: chunks.length };
  }

  deleteDocument(documentId: string): boolean {
    this.assertWritable();
    if (this.store.document(documentId) === null) return false;
    const removed = this.store.deleteDocument(documentId);
    this.bm25.delete(removed);
    this.hnsw?.delete(removed);
    return true;
  }

  async save(hook?: SaveHook): Promise<Manifest> {
    this.assertWritable();
    const embedder =
      this.hnsw === null || this.embedder === null
        ? null
        : { model: this.embedder.modelId, dimensions: this.hnsw.dimensions };
    this.manifest = saveSnapshot(
      this.directory,
      { store: this.store, bm25: this.bm25, hnsw: this.hnsw, embedder },
      this.manifest,
      hook,
      this.retention,
    );
    return this.manifest;
  }

  search(request: z.input<typeof SearchRequestSchema>): Promise<SearchResponse> {
    return searchIndex(this, request);
  }

  close(): void {
    this.lock?.release();
    this.lock = null;
    this.store.close();
  }

  private assertWritable(): void {
    if (this.lock === null) throw new InvalidRequestError(`Index ${this.directory} was opened read-only.`);
  }
}
