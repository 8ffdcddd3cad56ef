// Named indexes for the HTTP layer: opened read-only on first use, reopened when their manifest changes (a new
// snapshot from `switchyard ingest`), each with the embedder its manifest names.
import { statSync } from 'node:fs';
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
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

export class IndexRegistry implements IndexProvider {
  private readonly open = new Map<string, { index: RetrievalIndex; stamp: string }>();
  private readonly pending = new Map<string, Promise<RetrievalIndex>>();

  constructor(private readonly options: IndexRegistryOptions) {}

  async get(name: string): Promise<RetrievalIndex> {
    if (!NAME.test(name)) {
      throw new InvalidRequestError(`Invalid index name "${name}": use 1-64 letters, digits, "-" or "_".`, { param: 'index' });
    }
    const directory = join(this.options.root, name);
    let stamp: string;
    try {
      const stat = statSync(join(directory, MANIFEST_FILE));
      stamp = `${stat.mtimeMs}:${stat.size}`;
    } catch {
      throw new NotFoundError(`Index "${name}" does not exist.`, { param: 'index', code: 'index_not_found' });
    }
    const cached = this.open.get(name);
    if (cached !== undefined && cached.stamp === stamp) return cached.index;
    const inFlight = this.pending.get(name);
    if (inFlight !== undefined) return inFlight;
    const loading = this.load(name, directory, stamp).finally(() => this.pending.delete(name));
    this.pending.set(name, loading);
    return loading;
  }

  close(): void {
    for (const { index } of this.open.values()) index.close();
    this.open.clear();
  }

  private async load(name: string, directory: string, stamp: string): Promise<RetrievalIndex> {
    const manifest = readManifest(directory);
    const models = manifest?.embedder ? await this.options.embedderFor(manifest.embedder.model) : { embedder: null, error: null };
    const index = await RetrievalIndex.open({
      directory,
      embedder: models.embedder,
      ...(models.error === null ? {} : { embedderError: models.error }),
      reranker: this.options.reranker,
      ...(this.options.rerankerError === undefined ? {} : { rerankerError: this.options.rerankerError }),
      ...(this.options.clock === undefined ? {} : { clock: this.options.clock }),
    });
    const previous = this.open.get(name)?.index;
    this.open.set(name, { index, stamp });
    // Requests may still be using the previous snapshot; close it once they are surely done.
    if (previous !== undefined) setTimeout(() => previous.close(), 30_000).unref();
    return index;
  }
}
