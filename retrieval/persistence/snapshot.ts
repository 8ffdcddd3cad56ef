// Reading and writing index snapshots. An index is a directory:
//   manifest.json             → the pointer: current generation, counts, file paths, sizes and sha256
//   snapshots/<gen>/          → one immutable generation: store.sqlite (SQLite), bm25.bin (BM25 postings, indexes/bm25-snapshot.ts; format-1 JSON still read), hnsw.bin (no embedder: absent)
// A save writes generation g+1 into its own directory (each file fsynced, then the directory), then swaps the
// manifest atomically (rename), so a reader — on this host or another sharing the volume — sees generation g or g+1,
// never a half-written one. Superseded generations stay on disk for a grace period, so replicas that read the old
// manifest a moment ago can still finish loading it, and are removed by the writer afterwards. Indexes written with
// flat `store.<gen>.sqlite` names still load (manifest paths are relative to the index directory).
import { createHash, randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  utimesSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IndexCorruptError } from '../errors.ts';
import { Bm25Index } from '../indexes/bm25.ts';
import { HnswIndex, stageHnswFile, type StagedHnswFile } from '../indexes/hnsw.ts';
import { ChunkStore, sha256 } from '../store/chunk-store.ts';
import { commitFile, fsyncDirectory, writeFileAtomic } from './atomic.ts';
import {
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  ManifestSchema,
  type FileEntry,
  type Manifest,
} from './manifest.ts';

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
    throw new IndexCorruptError(
      `Index ${directory}: ${MANIFEST_FILE} is not valid JSON (${(error as Error).message}).`,
    );
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

/** Reads a file the manifest names (off the event loop) and checks its size and sha256. */
async function verifiedBytes(directory: string, entry: FileEntry): Promise<Buffer> {
  const path = join(directory, entry.name);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new IndexCorruptError(`Index ${directory}: ${entry.name} is missing.`);
    throw error;
  }
  checkEntry(directory, entry, bytes.length, sha256(bytes));
  return bytes;
}

/** Lets queries on the same event loop run between the load's steps (a reader loads beside live traffic). */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The size and sha256 check of one file the manifest names. */
function checkEntry(directory: string, entry: FileEntry, bytes: number, digest: string): void {
  if (bytes !== entry.bytes) {
    throw new IndexCorruptError(
      `Index ${directory}: ${entry.name} has ${bytes} bytes, the manifest says ${entry.bytes} (truncated or replaced).`,
    );
  }
  if (digest !== entry.sha256) {
    throw new IndexCorruptError(
      `Index ${directory}: checksum mismatch for ${entry.name} (expected ${entry.sha256.slice(0, 12)}…, got ${digest.slice(0, 12)}…).`,
    );
  }
}

/**
 * The HNSW file, verified, split into its header and a private scratch copy of hnswlib's part in the temp directory
 * (hnswlib reads only files): the writer removing this generation cannot break the load, replicas sharing /tmp do not
 * collide, and the file is streamed rather than read whole (indexes/hnsw.ts).
 */
function stagedHnsw(directory: string, entry: FileEntry): StagedHnswFile {
  const scratch = join(tmpdir(), `switchyard-${entry.name.replaceAll('/', '-')}-${randomUUID().slice(0, 8)}.hnswlib`);
  let staged: StagedHnswFile;
  try {
    staged = stageHnswFile(join(directory, entry.name), scratch);
  } catch (error) {
    rmSync(scratch, { force: true });
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new IndexCorruptError(`Index ${directory}: ${entry.name} is missing.`);
    throw error;
  }
  try {
    checkEntry(directory, entry, staged.bytes, staged.sha256);
  } catch (error) {
    rmSync(scratch, { force: true });
    throw error;
  }
  return staged;
}

/**
 * Loads one generation into memory. File reads are asynchronous (the HNSW file is streamed) and each parse step is
 * followed by a yield, so a replica that loads a new snapshot in the background keeps answering queries; the longest
 * pause is one parse step.
 */
export async function loadSnapshot(directory: string, manifest: Manifest, hnswEf?: number): Promise<SnapshotParts> {
  const storeBytes = await verifiedBytes(directory, manifest.files.store);
  const bm25Bytes = await verifiedBytes(directory, manifest.files.bm25);
  const staged = manifest.files.hnsw === null ? null : stagedHnsw(directory, manifest.files.hnsw);
  let parts: SnapshotParts;
  try {
    await yieldToEventLoop();
    const store = ChunkStore.fromBytes(storeBytes);
    await yieldToEventLoop();
    const bm25 = Bm25Index.fromBytes(bm25Bytes);
    await yieldToEventLoop();
    const hnsw = staged === null ? null : HnswIndex.fromStaged(staged, hnswEf === undefined ? {} : { ef: hnswEf });
    parts = { store, bm25, hnsw, embedder: manifest.embedder };
  } catch (error) {
    throw new IndexCorruptError(
      `Index ${directory}: cannot read snapshot ${manifest.generation}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  } finally {
    if (staged !== null) rmSync(staged.scratch, { force: true });
  }
  const counts = parts.store.counts();
  const problems: string[] = [];
  if (counts.documents !== manifest.counts.documents)
    problems.push(`documents ${counts.documents} ≠ ${manifest.counts.documents}`);
  if (counts.chunks !== manifest.counts.chunks) problems.push(`chunks ${counts.chunks} ≠ ${manifest.counts.chunks}`);
  if (parts.bm25.size !== counts.chunks) problems.push(`BM25 has ${parts.bm25.size} chunks, store ${counts.chunks}`);
  if (parts.hnsw !== null && parts.hnsw.size !== counts.chunks)
    problems.push(`HNSW has ${parts.hnsw.size} vectors, store ${counts.chunks}`);
  if (parts.hnsw !== null && manifest.embedder !== null && parts.hnsw.dimensions !== manifest.embedder.dimensions) {
    problems.push(`HNSW has ${parts.hnsw.dimensions} dimensions, the embedder ${manifest.embedder.dimensions}`);
  }
  if (problems.length > 0) {
    throw new IndexCorruptError(
      `Index ${directory}: snapshot ${manifest.generation} is inconsistent: ${problems.join('; ')}.`,
    );
  }
  return parts;
}

export const SNAPSHOTS_DIRECTORY = 'snapshots';
/** Superseded generations are kept this long (override: SWITCHYARD_SNAPSHOT_GRACE_MS) for replicas still loading them. */
export const DEFAULT_SNAPSHOT_GRACE_MS = 120_000;

export function defaultSnapshotGraceMs(): number {
  const fromEnvironment = Number(process.env['SWITCHYARD_SNAPSHOT_GRACE_MS']);
  return Number.isFinite(fromEnvironment) && fromEnvironment >= 0 ? fromEnvironment : DEFAULT_SNAPSHOT_GRACE_MS;
}

export interface SnapshotRetention {
  /** How long a superseded generation stays on disk (default: defaultSnapshotGraceMs()). */
  graceMs?: number;
  now?: () => number;
}

export function saveSnapshot(
  directory: string,
  parts: SnapshotParts,
  previous: Manifest | null,
  hook?: SaveHook,
  retention: SnapshotRetention = {},
): Manifest {
  const generation = (previous?.generation ?? 0) + 1;
  const relative = `${SNAPSHOTS_DIRECTORY}/${generation}`;
  const generationDirectory = join(directory, SNAPSHOTS_DIRECTORY, String(generation));
  // A directory for this number can only be the leftover of a crashed save (the manifest never pointed at it).
  rmSync(generationDirectory, { recursive: true, force: true });
  mkdirSync(generationDirectory, { recursive: true });
  fsyncDirectory(join(directory, SNAPSHOTS_DIRECTORY));
  const entry = (name: string): FileEntry => fileEntry(generationDirectory, name, `${relative}/${name}`);
  writeFileAtomic(join(generationDirectory, 'store.sqlite'), parts.store.serialize());
  hook?.('store');
  commitFile(join(generationDirectory, 'bm25.bin'), (temporary) => parts.bm25.save(temporary));
  hook?.('bm25');
  let hnswEntry: FileEntry | null = null;
  if (parts.hnsw !== null) {
    const hnsw = parts.hnsw;
    commitFile(join(generationDirectory, 'hnsw.bin'), (temporary) => hnsw.save(temporary));
    hnswEntry = entry('hnsw.bin');
    hook?.('hnsw');
  }
  fsyncDirectory(generationDirectory);
  const counts = parts.store.counts();
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    generation,
    savedAt: new Date((retention.now ?? Date.now)()).toISOString(),
    embedder: parts.embedder,
    counts: { ...counts, lexical: parts.bm25.size, vectors: parts.hnsw?.size ?? 0 },
    files: { store: entry('store.sqlite'), bm25: entry('bm25.bin'), hnsw: hnswEntry },
  };
  writeFileAtomic(join(directory, MANIFEST_FILE), `${JSON.stringify(manifest, null, 1)}\n`);
  // The directory's mtime records when this generation was published, which is when its predecessor was superseded.
  const publishedAt = new Date((retention.now ?? Date.now)());
  utimesSync(generationDirectory, publishedAt, publishedAt);
  hook?.('manifest');
  removeUnreferenced(directory, manifest, retention);
  return manifest;
}

/** Size and sha256 of a file, read through an 8 MB buffer (a million-chunk HNSW file is ~1.7 GB). */
function fileEntry(directory: string, name: string, recordedName: string): FileEntry {
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
  return { name: recordedName, bytes, sha256: hash.digest('hex') };
}

function publishedGenerations(directory: string): { generation: number; publishedAt: number }[] {
  const root = join(directory, SNAPSHOTS_DIRECTORY);
  if (!existsSync(root)) return [];
  const found: { generation: number; publishedAt: number }[] = [];
  for (const name of readdirSync(root)) {
    if (!/^\d+$/.test(name)) continue;
    const stat = statSync(join(root, name));
    if (stat.isDirectory()) found.push({ generation: Number(name), publishedAt: stat.mtimeMs });
  }
  return found.sort((a, b) => a.generation - b.generation);
}

/**
 * Writer-side clean-up (the caller holds the write lock). Removes temporary files of crashed saves and generation
 * directories newer than the manifest (never published) at once; a superseded generation once its successor has been
 * published for longer than the grace period; flat files of the older layout once the first generation directory is.
 */
export function removeUnreferenced(
  directory: string,
  manifest: Manifest | null,
  retention: SnapshotRetention = {},
): void {
  const graceMs = retention.graceMs ?? defaultSnapshotGraceMs();
  const now = (retention.now ?? Date.now)();
  const current = manifest?.generation ?? 0;
  const keep = new Set([MANIFEST_FILE, 'LOCK']);
  if (manifest !== null) {
    keep.add(manifest.files.store.name);
    keep.add(manifest.files.bm25.name);
    if (manifest.files.hnsw !== null) keep.add(manifest.files.hnsw.name);
  }
  const generations = publishedGenerations(directory);
  const expired = (supersededAt: number | undefined): boolean =>
    supersededAt !== undefined && now - supersededAt >= graceMs;
  const oldestDirectory = generations.find((entry) => entry.generation <= current);
  for (const name of readdirSync(directory)) {
    const path = join(directory, name);
    if (keep.has(name) || !statSync(path).isFile()) continue;
    if (/^\..*\.tmp-\d+-\d+(\.hnswlib-\d+)?$/.test(name)) rmSync(path, { force: true });
    else if (/^(store|bm25|hnsw)\.\d+\.(sqlite|json|bin)$/.test(name)) {
      const generation = Number(name.split('.')[1]);
      const supersededAt = generation > current ? 0 : oldestDirectory?.publishedAt;
      if (generation > current || expired(supersededAt)) rmSync(path, { force: true });
    }
  }
  for (const [position, entry] of generations.entries()) {
    if (entry.generation === current) continue;
    const successor = generations.slice(position + 1).find((later) => later.generation <= current);
    if (entry.generation > current || expired(successor?.publishedAt)) {
      rmSync(join(directory, SNAPSHOTS_DIRECTORY, String(entry.generation)), { recursive: true, force: true });
    }
  }
}
