// Ingestion: walk → load → chunk → embed → store/BM25/HNSW, with a snapshot every `checkpointEvery` changed documents
// and at the end. Unchanged documents are skipped (resumable after a crash); documents that disappeared from the
// ingested root are removed (prune).
import { resolve } from 'node:path';
import type { Chunker, DocumentFormat, Embedder } from './contracts.ts';
import { createChunker, type ChunkerName } from './chunkers/registry.ts';
import { loadFile } from './loaders/loaders.ts';
import { walk, type WalkOptions } from './loaders/walk.ts';
import type { SaveHook } from './persistence/snapshot.ts';
import type { RetrievalIndex, UpsertStatus } from './retrieval-index.ts';

export type ChunkerChoice = ChunkerName | 'auto';

export interface IngestOptions extends WalkOptions {
  path: string;
  index: RetrievalIndex;
  chunker?: ChunkerChoice;
  /** Save a snapshot after this many added/updated/deleted documents. */
  checkpointEvery?: number;
  prune?: boolean;
  onFiles?: (count: number) => void;
  onDocument?: (event: { file: string; documentId: string; status: UpsertStatus; chunks: number }) => void;
  onFileDone?: (file: string) => void;
  saveHook?: SaveHook;
}

export interface IngestReport {
  files: number;
  added: number;
  updated: number;
  unchanged: number;
  deleted: number;
  chunks: number;
  generation: number;
  durationMs: number;
}

/** The chunker `auto` picks for a format. */
export function autoChunkerFor(format: DocumentFormat): ChunkerName {
  if (format === 'markdown' || format === 'html') return 'markdown';
  if (format === 'code') return 'code';
  return 'recursive';
}

export async function ingest(options: IngestOptions): Promise<IngestReport> {
  const started = Date.now();
  const { index } = options;
  const choice = options.chunker ?? 'auto';
  const checkpointEvery = options.checkpointEvery ?? 200;
  const chunkers = new Map<ChunkerName, Chunker>();
  const dependencies: { embedder?: Embedder } = index.embedder === null ? {} : { embedder: index.embedder };
  const chunkerFor = (format: DocumentFormat): Chunker => {
    const name = choice === 'auto' ? autoChunkerFor(format) : choice;
    let chunker = chunkers.get(name);
    if (chunker === undefined) {
      chunker = createChunker(name, dependencies);
      chunkers.set(name, chunker);
    }
    return chunker;
  };

  const { root, single, files } = await walk(options.path, options);
  const walkedPaths = new Set(files.map((file) => file.path));
  const sourceRoot = resolve(root);
  options.onFiles?.(files.length);
  const report: IngestReport = {
    files: files.length,
    added: 0,
    updated: 0,
    unchanged: 0,
    deleted: 0,
    chunks: 0,
    generation: 0,
    durationMs: 0,
  };
  const seen = new Set<string>();
  let sinceCheckpoint = 0;
  const checkpoint = async (): Promise<void> => {
    if (sinceCheckpoint === 0) return;
    await index.save(options.saveHook);
    sinceCheckpoint = 0;
  };

  for (const file of files) {
    for (const document of loadFile(file.path, file.id)) {
      seen.add(document.id);
      const result = await index.upsertDocument(document, chunkerFor(document.format), { sourceRoot });
      report[result.status] += 1;
      report.chunks += result.chunks;
      if (result.status !== 'unchanged') sinceCheckpoint += 1;
      options.onDocument?.({ file: file.path, documentId: document.id, status: result.status, chunks: result.chunks });
      if (sinceCheckpoint >= checkpointEvery) await checkpoint();
    }
    options.onFileDone?.(file.path);
  }
  if (options.prune !== false) {
    for (const stale of index.store.documentsUnderRoot(sourceRoot)) {
      // A record gone from a file we read, or (directory ingest) a file that is gone or now excluded.
      if (seen.has(stale.id) || (single && !walkedPaths.has(stale.sourcePath))) continue;
      index.deleteDocument(stale.id);
      report.deleted += 1;
      sinceCheckpoint += 1;
    }
  }
  // Always leave a snapshot, even for an empty first ingest, so the index exists on disk.
  if (sinceCheckpoint > 0 || index.generation === 0) {
    sinceCheckpoint = Math.max(sinceCheckpoint, 1);
    await checkpoint();
  }
  report.generation = index.generation;
  report.durationMs = Date.now() - started;
  return report;
}
