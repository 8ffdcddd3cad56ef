// Where indexes live and which models to use, from flags and environment (flags win).
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { DEFAULT_EMBEDDING_MODEL } from './models/embedder.ts';
import { DEFAULT_RERANK_MODEL } from './models/reranker.ts';

export function defaultIndexRoot(): string {
  return process.env['SWITCHYARD_INDEX_DIR'] ?? join(process.cwd(), '.switchyard', 'indexes');
}

/** An index name is a folder under the index root; anything that looks like a path is used as one. */
export function resolveIndexDirectory(name: string, indexRoot?: string): string {
  if (isAbsolute(name) || name.startsWith('.') || name.includes('/')) return resolve(name);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
    throw new Error(`Index name "${name}" must be 1-64 letters, digits, "-" or "_" (or a path).`);
  }
  return join(indexRoot ?? defaultIndexRoot(), name);
}

export function defaultEmbeddingModel(): string {
  return process.env['SWITCHYARD_EMBEDDER'] ?? DEFAULT_EMBEDDING_MODEL;
}

export function defaultRerankModel(): string {
  return process.env['SWITCHYARD_RERANKER'] ?? DEFAULT_RERANK_MODEL;
}

/** Local model folders are stored as absolute paths so queries from another directory find them. */
export function storedModelReference(model: string): string {
  // An existing relative folder (`retrieval/models/fixtures/x`, as in the README) counts too, as in isLocalFolder.
  return model.startsWith('.') || model.startsWith('/') || existsSync(model) ? resolve(model) : model;
}
