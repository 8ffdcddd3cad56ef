// Named indexes for the HTTP layer, served read-only. The first query of an index loads it; after that, queries are
// always answered from the snapshot in memory while a poller (a timer, and any query once the poll interval has
// passed) watches the manifest. A new snapshot — published by the one writer, `switchyard ingest`, possibly on another
// host sharing the volume — is loaded in the background and swapped in only once fully loaded and verified; the
// previous one is closed after `retireMs`, when requests that held it are done. A snapshot that fails to load leaves
// the previous one serving, and is reported (status(), onEvent) and retried after `retryMs`.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Embedder, Reranker } from '../contracts.ts';
import { InvalidRequestError, NotFoundError } from '../errors.ts';
import { MANIFEST_FILE } from '../persistence/manifest.ts';
import { readManifest } from '../persistence/snapshot.ts';
import { RetrievalIndex } from '../retrieval-index.ts';

export interface IndexProvider {
  get(name: string): Promise<RetrievalIndex>;
}

export interface IndexRegistryOptions {
  root: string;
  /** Embedder for a model reference from a manifest; null with a reason when it cannot be loaded. */
  embedderFor(model: string): Promise<{ embedder: Embedder | null; error: string | null }>;
  reranker: Reranker | null;
  rerankerError?: string;
  clock?: () => number;
  /** How often the manifest of an open index is checked (default 1000 ms; 0: only when a query arrives). */
  pollMs?: number;
  /** How long a replaced snapshot stays open for requests that still hold it (default 30 s). */
  retireMs?: number;
  /** How long before a snapshot that failed to load is tried again (default 10 s). */
  retryMs?: number;
  /** Swaps and load failures, for logs and metrics. */
  onEvent?: (event: SnapshotEvent) => void;
}

export type SnapshotEvent =
  | { type: 'swapped'; index: string; from: number; to: number; loadMs: number }
  | { type: 'load_failed'; index: string; serving: number; error: string };

/** What one replica serves for one index: reported on /health and as metrics. */
export interface SnapshotStatus {
  index: string;
  /** The generation queries are answered from. */
  generation: number;
  loadedAt: string;
  loading: boolean;
  swaps: number;
  loadFailures: number;
  /** The last load failure while an older snapshot kept serving (cleared by the next successful swap). */
  lastError: string | null;
  lastLoadMs: number;
}

interface OpenIndex {
  index: RetrievalIndex;
  stamp: string;
  checkedAt: number;
  loading: Promise<void> | null;
  failedStamp: string | null;
  failedAt: number;
  status: SnapshotStatus;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

async function manifestStamp(directory: string): Promise<string | null> {
  try {
    const info = await stat(join(directory, MANIFEST_FILE));
    return `${info.mtimeMs}:${info.size}:${info.ino}`;
  } catch {
    return null;
  }
}

function readGeneration(directory: string): number | null {
  try {
    return readManifest(directory)?.generation ?? null;
  } catch {
    return null;
  }
}

export class IndexRegistry implements IndexProvider {
  private readonly open = new Map<string, OpenIndex>();
  private readonly cold = new Map<string, Promise<RetrievalIndex>>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly options: IndexRegistryOptions) {
    this.now = options.clock ?? Date.now;
  }

  async get(name: string): Promise<RetrievalIndex> {
    if (!NAME.test(name)) {
      throw new InvalidRequestError(`Invalid index name "${name}": use 1-64 letters, digits, "-" or "_".`, {
        param: 'index',
      });
    }
    const entry = this.open.get(name);
    if (entry !== undefined) {
      if (this.now() - entry.checkedAt >= (this.options.pollMs ?? 1000)) void this.refresh(name, entry);
      return entry.index;
    }
    let loading = this.cold.get(name);
    if (loading === undefined) {
      loading = this.loadFirst(name).finally(() => this.cold.delete(name));
      this.cold.set(name, loading);
    }
    return loading;
  }

  /** Per open index: the generation served, swaps and the last failure. */
  status(): SnapshotStatus[] {
    return [...this.open.values()].map((entry) => ({ ...entry.status, loading: entry.loading !== null }));
  }

  /** Checks every open index now and resolves when the resulting loads are done (the poll timer does the same). */
  async refreshAll(): Promise<void> {
    await Promise.all([...this.open.entries()].map(([name, entry]) => this.refresh(name, entry)));
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const { index } of this.open.values()) index.close();
    this.open.clear();
  }

  private async loadFirst(name: string): Promise<RetrievalIndex> {
    const directory = join(this.options.root, name);
    const stamp = await manifestStamp(directory);
    if (stamp === null)
      throw new NotFoundError(`Index "${name}" does not exist.`, { param: 'index', code: 'index_not_found' });
    const started = this.now();
    const index = await this.openSnapshot(directory);
    const entry: OpenIndex = {
      index,
      stamp,
      checkedAt: this.now(),
      loading: null,
      failedStamp: null,
      failedAt: 0,
      status: {
        index: name,
        generation: index.generation,
        loadedAt: new Date(this.now()).toISOString(),
        loading: false,
        swaps: 0,
        loadFailures: 0,
        lastError: null,
        lastLoadMs: this.now() - started,
      },
    };
    this.open.set(name, entry);
    this.startPolling();
    return index;
  }

  private startPolling(): void {
    const pollMs = this.options.pollMs ?? 1000;
    if (this.timer !== null || pollMs <= 0 || this.closed) return;
    this.timer = setInterval(() => void this.refreshAll(), pollMs);
    this.timer.unref();
  }

  /** Starts a background load when the manifest changed; never throws, never blocks a query. */
  private refresh(name: string, entry: OpenIndex): Promise<void> {
    if (entry.loading !== null) return entry.loading;
    entry.checkedAt = this.now();
    const work = (async (): Promise<void> => {
      const directory = join(this.options.root, name);
      const stamp = await manifestStamp(directory);
      if (stamp === null || stamp === entry.stamp) return;
      if (stamp === entry.failedStamp && this.now() - entry.failedAt < (this.options.retryMs ?? 10_000)) return;
      if (readGeneration(directory) === entry.index.generation) {
        entry.stamp = stamp;
        return;
      }
      const started = this.now();
      try {
        const index = await this.openSnapshot(directory);
        if (this.closed || this.open.get(name) !== entry) {
          index.close();
          return;
        }
        const previous = entry.index;
        const loadMs = this.now() - started;
        entry.index = index;
        entry.stamp = stamp;
        entry.failedStamp = null;
        entry.status = {
          ...entry.status,
          generation: index.generation,
          loadedAt: new Date(this.now()).toISOString(),
          swaps: entry.status.swaps + 1,
          lastError: null,
          lastLoadMs: loadMs,
        };
        // Requests may still be using the previous snapshot; close it once they are surely done.
        setTimeout(() => previous.close(), this.options.retireMs ?? 30_000).unref();
        this.options.onEvent?.({
          type: 'swapped',
          index: name,
          from: previous.generation,
          to: index.generation,
          loadMs,
        });
      } catch (error) {
        entry.failedStamp = stamp;
        entry.failedAt = this.now();
        const message = (error as Error).message;
        entry.status = { ...entry.status, loadFailures: entry.status.loadFailures + 1, lastError: message };
        this.options.onEvent?.({ type: 'load_failed', index: name, serving: entry.index.generation, error: message });
      }
    })().finally(() => {
      entry.loading = null;
    });
    entry.loading = work;
    return work;
  }

  private async openSnapshot(directory: string): Promise<RetrievalIndex> {
    const manifest = readManifest(directory);
    const models = manifest?.embedder
      ? await this.options.embedderFor(manifest.embedder.model)
      : { embedder: null, error: null };
    return RetrievalIndex.open({
      directory,
      embedder: models.embedder,
      ...(models.error === null ? {} : { embedderError: models.error }),
      reranker: this.options.reranker,
      ...(this.options.rerankerError === undefined ? {} : { rerankerError: this.options.rerankerError }),
      ...(this.options.clock === undefined ? {} : { clock: this.options.clock }),
    });
  }
}
