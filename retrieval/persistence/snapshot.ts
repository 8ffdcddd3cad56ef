// Reading and writing index snapshots. An index is a directory:
//   manifest.json             → current generation, counts, file sizes and sha256
//   store.<gen>.sqlite        → chunks + metadata (SQLite)
//   bm25.<gen>.bin            → BM25 postings (indexes/bm25-snapshot.ts; format-1 JSON files are still read)
//   hnsw.<gen>.bin            → HNSW graph (absent when the index has no embedder)
// A save writes generation g+1's files (each atomically), then the manifest (atomically), then deletes older
// generations. A crash at any point leaves the manifest pointing at a complete generation.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IndexCorruptError } from '../errors.ts';
import { Bm25Index } from '../indexes/bm25.ts';
import { HnswIndex } from '../indexes/hnsw.ts';
import { ChunkStore, sha256 } from '../store/chunk-store.ts';
import { commitFile, writeFileAtomic } from './atomic.ts';
import { MANIFEST_FILE, MANIFEST_FORMAT, MANIFEST_VERSION, ManifestSchema, type FileEntry, type Manifest } from './manifest.ts';

export interface SnapshotParts {
  store: ChunkStore;
  bm25: Bm25Index;
  hnsw: HnswIndex | null;
  embedder: { model: string; dimensions: number } | null;
}

/** Called after each file is durably in place (tests use it to crash at a precise point). */
export type SaveHook = (step: 'store' | 'bm25' | 'hnsw' | 'manifest') => void;

export function readManifest(directory: string): Manifest | null {
  const path = join(directory, MANIFEST_FILE);
  if (!existsSync(path)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new IndexCorruptError(`Index ${directory}: ${MANIFEST_FILE} is not valid JSON (${(error as Error).message}).`);
  }
  const format = (raw as { format?: unknown; version?: unknown } | null)?.format;
  const version = (raw as { version?: unknown } | null)?.version;
  if (format !== MANIFEST_FORMAT) {
    throw new IndexCorruptError(`Index ${directory}: ${MANIFEST_FILE} is not a Switchyard index manifest.`);
  }
  if (version !== MANIFEST_VERSION) {
    throw new IndexCorruptError(
      `Index ${directory} was written in format version ${String(version)}; this build reads version ${MANIFEST_VERSION}. Re-ingest it.`,
    );
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new IndexCorruptError(`Index ${directory}: ${MANIFEST_FILE} ${issue?.path.join('.')}: ${issue?.message}`);
  }
  return parsed.data;
}

function verifiedBytes(directory: string, entry: FileEntry): Buffer {
  const path = join(directory, entry.name);
  if (!existsSync(path)) throw new IndexCorruptError(`Index ${directory}: ${entry.name} is missing.`);
  const bytes = readFileSync(path);
  if (bytes.length !== entry.bytes) {
    throw new IndexCorruptError(
      `Index ${directory}: ${entry.name} has ${bytes.length} bytes, the manifest says ${entry.bytes} (truncated or replaced).`,
    );
  }
  const digest = sha256(bytes);
  if (digest !== entry.sha256) {
    throw new IndexCorruptError(`Index ${directory}: checksum mismatch for ${entry.name} (expected ${entry.sha256.slice(0, 12)}…, got ${digest.slice(0, 12)}…).`);
  }
  return bytes;
}

export function loadSnapshot(directory: string, manifest: Manifest, hnswEf?: number): SnapshotParts {
  const storeBytes = verifiedBytes(directory, manifest.files.store);
  const bm25Bytes = verifiedBytes(directory, manifest.files.bm25);
  const hnswBytes = manifest.files.hnsw === null ? null : verifiedBytes(directory, manifest.files.hnsw);
  let parts: SnapshotParts;
  try {
    const store = ChunkStore.fromBytes(storeBytes);
    const bm25 = Bm25Index.fromBytes(bm25Bytes);
    // hnswlib reads only from files: the verified bytes go through a private scratch file in the temp directory, so
    // a concurrent writer deleting this generation cannot break the load.
    const hnsw =
      hnswBytes === null || manifest.files.hnsw === null
        ? null
        : HnswIndex.fromBytes(hnswBytes, join(tmpdir(), `switchyard-${manifest.files.hnsw.name}`), hnswEf === undefined ? {} : { ef: hnswEf });
    parts = { store, bm25, hnsw, embedder: manifest.embedder };
  } catch (error) {
    throw new IndexCorruptError(`Index ${directory}: cannot read snapshot ${manifest.generation}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const counts = parts.store.counts();
  const problems: string[] = [];
  if (counts.documents !== manifest.counts.documents) problems.push(`documents ${counts.documents} ≠ ${manifest.counts.documents}`);
  if (counts.chunks !== manifest.counts.chunks) problems.push(`chunks ${counts.chunks} ≠ ${manifest.counts.chunks}`);
  if (parts.bm25.size !== counts.chunks) problems.push(`BM25 has ${parts.bm25.size} chunks, store ${counts.chunks}`);
  if (parts.hnsw !== null && parts.hnsw.size !== counts.chunks) problems.push(`HNSW has ${parts.hnsw.size} vectors, store ${counts.chunks}`);
  if (parts.hnsw !== null && manifest.embedder !== null && parts.hnsw.dimensions !== manifest.embedder.dimensions) {
    problems.push(`HNSW has ${parts.hnsw.dimensions} dimensions, the embedder ${manifest.embedder.dimensions}`);
  }
  if (problems.length > 0) {
    throw new IndexCorruptError(`Index ${directory}: snapshot ${manifest.generation} is inconsistent: ${problems.join('; ')}.`);
  }
  return parts;
}

export function saveSnapshot(directory: string, parts: SnapshotParts, previous: Manifest | null, hook?: SaveHook): Manifest {
  mkdirSync(directory, { recursive: true });
  const generation = (previous?.generation ?? 0) + 1;
  const entry = (name: string): FileEntry => fileEntry(directory, name);
  const storeName = `store.${generation}.sqlite`;
  writeFileAtomic(join(directory, storeName), parts.store.serialize());
  hook?.('store');
  const bm25Name = `bm25.${generation}.bin`;
  commitFile(join(directory, bm25Name), (temporary) => parts.bm25.save(temporary));
  hook?.('bm25');
  let hnswEntry: FileEntry | null = null;
  if (parts.hnsw !== null) {
    const hnswName = `hnsw.${generation}.bin`;
    const hnsw = parts.hnsw;
    commitFile(join(directory, hnswName), (temporary) => hnsw.save(temporary));
    hnswEntry = entry(hnswName);
    hook?.('hnsw');
  }
  const counts = parts.store.counts();
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    generation,
    savedAt: new Date().toISOString(),
    embedder: parts.embedder,
    counts: { ...counts, lexical: parts.bm25.size, vectors: parts.hnsw?.size ?? 0 },
    files: { store: entry(storeName), bm25: entry(bm25Name), hnsw: hnswEntry },
  };
  writeFileAtomic(join(directory, MANIFEST_FILE), `${JSON.stringify(manifest, null, 1)}\n`);
  hook?.('manifest');
  removeUnreferenced(directory, manifest);
  return manifest;
}

/** Size and sha256 of a file, read through an 8 MB buffer (a million-chunk HNSW file is ~1.7 GB). */
function fileEntry(directory: string, name: string): FileEntry {
  const hash = createHash('sha256');
  const input = openSync(join(directory, name), 'r');
  let bytes = 0;
  try {
    const buffer = Buffer.allocUnsafe(8 << 20);
    for (let read = readSync(input, buffer); read > 0; read = readSync(input, buffer)) {
      hash.update(buffer.subarray(0, read));
      bytes += read;
    }
  } finally {
    closeSync(input);
  }
  return { name, bytes, sha256: hash.digest('hex') };
}

/** Deletes older generations and temporary files left by crashed saves. */
export function removeUnreferenced(directory: string, manifest: Manifest | null): void {
  const keep = new Set([MANIFEST_FILE, 'LOCK']);
  if (manifest !== null) {
    keep.add(manifest.files.store.name);
    keep.add(manifest.files.bm25.name);
    if (manifest.files.hnsw !== null) keep.add(manifest.files.hnsw.name);
  }
  for (const name of readdirSync(directory)) {
    const ours =
      /^(store|bm25|hnsw)\.\d+\.(sqlite|json|bin)$/.test(name) ||
      /^\..*\.tmp-\d+-\d+(\.hnswlib-\d+)?$/.test(name);
    if (ours && !keep.has(name) && statSync(join(directory, name)).isFile()) rmSync(join(directory, name), { force: true });
  }
}
