// The chunk and metadata store: SQLite through better-sqlite3. The live database is in memory (opened from the last
// snapshot's bytes) and `serialize()` produces the bytes of the next snapshot, so a save is one atomic file write and a
// crash can never leave a half-written store behind. Filters, citations and re-ingestion are indexed SQL queries.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import type { Chunk, ChunkMetadata, MetadataValue, SourceDocument } from '../contracts.ts';
import { compileFilters, type Filters } from './filters.ts';

const require = createRequire(import.meta.url);
const Database = require('better-sqlite3') as typeof BetterSqlite3;

export const STORE_SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS documents (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  source_path TEXT NOT NULL,
  source_url TEXT,
  source_root TEXT,
  last_modified INTEGER NOT NULL,
  content_hash TEXT NOT NULL,
  chunker TEXT NOT NULL,
  metadata TEXT NOT NULL,
  chunk_count INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_root ON documents(source_root);
CREATE TABLE IF NOT EXISTS chunks (
  key INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  text TEXT NOT NULL,
  title TEXT NOT NULL,
  heading_path TEXT NOT NULL,
  source_path TEXT NOT NULL,
  source_url TEXT,
  last_modified INTEGER NOT NULL,
  token_count INTEGER NOT NULL,
  content_hash TEXT NOT NULL,
  start INTEGER NOT NULL,
  "end" INTEGER NOT NULL,
  metadata TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_document ON chunks(document_id, position);
CREATE INDEX IF NOT EXISTS chunks_last_modified ON chunks(last_modified);
CREATE TABLE IF NOT EXISTS chunk_metadata (
  key INTEGER NOT NULL REFERENCES chunks(key) ON DELETE CASCADE,
  name TEXT NOT NULL,
  value_text TEXT,
  value_number REAL
);
CREATE INDEX IF NOT EXISTS chunk_metadata_text ON chunk_metadata(name, value_text);
CREATE INDEX IF NOT EXISTS chunk_metadata_number ON chunk_metadata(name, value_number);
CREATE INDEX IF NOT EXISTS chunk_metadata_key ON chunk_metadata(key);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

export interface StoredDocument {
  id: string;
  title: string;
  sourcePath: string;
  sourceUrl: string | null;
  sourceRoot: string | null;
  lastModified: number;
  contentHash: string;
  chunker: string;
  chunkCount: number;
}

interface ChunkRow {
  key: number;
  id: string;
  document_id: string;
  position: number;
  text: string;
  title: string;
  heading_path: string;
  source_path: string;
  source_url: string | null;
  last_modified: number;
  token_count: number;
  content_hash: string;
  start: number;
  end: number;
  metadata: string;
}

export interface NewChunk {
  text: string;
  headingPath: string[];
  tokenCount: number;
  start: number;
  end: number;
}

export function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

export class ChunkStore {
  private readonly db: BetterSqlite3.Database;
  private readonly filterCache = new Map<string, Set<number>>();
  /** Prepared once per SQL text: preparing costs more than running these one-row statements. */
  private readonly statements = new Map<string, BetterSqlite3.Statement>();

  private constructor(db: BetterSqlite3.Database) {
    this.db = db;
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
    const version = this.setting('schema_version');
    if (version === null) this.setSetting('schema_version', String(STORE_SCHEMA_VERSION));
    else if (Number(version) !== STORE_SCHEMA_VERSION) {
      throw new Error(`store schema version ${version}, this build reads ${STORE_SCHEMA_VERSION}`);
    }
  }

  static create(): ChunkStore {
    return new ChunkStore(new Database(':memory:'));
  }

  /** Opens a snapshot's bytes as an in-memory database. */
  static fromBytes(bytes: Buffer): ChunkStore {
    return new ChunkStore(new Database(bytes));
  }

  serialize(): Buffer {
    return this.db.serialize();
  }

  close(): void {
    this.statements.clear();
    this.db.close();
  }

  /** Bytes of the database's pages (the in-memory store's size, and its snapshot's). */
  byteSize(): number {
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    return pages * pageSize;
  }

  private statement(sql: string): BetterSqlite3.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  setting(name: string): string | null {
    const row = this.statement('SELECT value FROM settings WHERE name = ?').get(name) as { value: string } | undefined;
    return row?.value ?? null;
  }

  setSetting(name: string, value: string): void {
    this.statement(
      'INSERT INTO settings(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value',
    ).run(name, value);
  }

  document(id: string): StoredDocument | null {
    const row = this.statement('SELECT * FROM documents WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    return row === undefined ? null : toStoredDocument(row);
  }

  documentsUnderRoot(root: string): StoredDocument[] {
    return (this.statement('SELECT * FROM documents WHERE source_root = ?').all(root) as Record<string, unknown>[]).map(
      toStoredDocument,
    );
  }

  counts(): { documents: number; chunks: number } {
    const documents = (this.statement('SELECT COUNT(*) AS n FROM documents').get() as { n: number }).n;
    const chunks = (this.statement('SELECT COUNT(*) AS n FROM chunks').get() as { n: number }).n;
    return { documents, chunks };
  }

  chunkKeysOf(documentId: string): number[] {
    return (
      this.statement('SELECT key FROM chunks WHERE document_id = ? ORDER BY position').all(documentId) as {
        key: number;
      }[]
    ).map((row) => row.key);
  }

  allChunkKeys(): number[] {
    return (this.statement('SELECT key FROM chunks ORDER BY key').all() as { key: number }[]).map((row) => row.key);
  }

  /** Removes a document and its chunks; returns the removed chunk keys. */
  deleteDocument(documentId: string): number[] {
    this.filterCache.clear();
    const keys = this.chunkKeysOf(documentId);
    this.statement('DELETE FROM documents WHERE id = ?').run(documentId);
    return keys;
  }

  /**
   * Replaces a document and its chunks in one transaction. Keys are never reused (a monotonically increasing counter
   * kept in the store), so an index label always means one chunk.
   */
  replaceDocument(
    document: SourceDocument,
    drafts: readonly NewChunk[],
    options: { chunker: string; sourceRoot: string | null; contentHash: string },
  ): { removed: number[]; chunks: Chunk[] } {
    this.filterCache.clear();
    const transaction = this.db.transaction(() => {
      const removed = this.deleteDocument(document.id);
      this.statement(
        `INSERT INTO documents (id, title, source_path, source_url, source_root, last_modified, content_hash, chunker, metadata, chunk_count)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        document.id,
        document.title,
        document.sourcePath,
        document.sourceUrl ?? null,
        options.sourceRoot,
        Math.round(document.lastModified),
        options.contentHash,
        options.chunker,
        JSON.stringify(document.metadata),
        drafts.length,
      );
      let nextKey = Number(this.setting('next_key') ?? '1');
      const insertChunk = this.statement(
        `INSERT INTO chunks (key, id, document_id, position, text, title, heading_path, source_path, source_url,
           last_modified, token_count, content_hash, start, "end", metadata)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const insertMetadata = this.statement(
        'INSERT INTO chunk_metadata (key, name, value_text, value_number) VALUES (?, ?, ?, ?)',
      );
      const chunks: Chunk[] = drafts.map((draft, position) => {
        const key = nextKey;
        nextKey += 1;
        const metadata: ChunkMetadata = {
          documentId: document.id,
          title: document.title,
          headingPath: draft.headingPath,
          sourcePath: document.sourcePath,
          sourceUrl: document.sourceUrl ?? null,
          lastModified: Math.round(document.lastModified),
          position,
          tokenCount: draft.tokenCount,
          contentHash: sha256(draft.text),
          start: draft.start,
          end: draft.end,
          extra: document.metadata,
        };
        const id = `${document.id}#${position}`;
        insertChunk.run(
          key,
          id,
          document.id,
          position,
          draft.text,
          metadata.title,
          JSON.stringify(metadata.headingPath),
          metadata.sourcePath,
          metadata.sourceUrl,
          metadata.lastModified,
          metadata.tokenCount,
          metadata.contentHash,
          metadata.start,
          metadata.end,
          JSON.stringify(metadata.extra),
        );
        for (const [name, value] of Object.entries(document.metadata)) {
          for (const element of Array.isArray(value) ? value : [value]) {
            if (element === null) continue;
            const numeric =
              typeof element === 'number' ? element : typeof element === 'boolean' ? (element ? 1 : 0) : null;
            insertMetadata.run(key, name, numeric === null ? String(element) : null, numeric);
          }
        }
        return { key, id, text: draft.text, metadata };
      });
      this.setSetting('next_key', String(nextKey));
      return { removed, chunks };
    });
    return transaction();
  }

  chunks(keys: readonly number[]): Map<number, Chunk> {
    const out = new Map<number, Chunk>();
    const statement = this.statement('SELECT * FROM chunks WHERE key = ?');
    for (const key of keys) {
      const row = statement.get(key) as ChunkRow | undefined;
      if (row !== undefined) out.set(key, toChunk(row));
    }
    return out;
  }

  /**
   * Chunk keys matching the filters (indexed SELECTs intersected, not a scan of chunk texts). Results are cached per
   * compiled query until the next write, since the same filters (tenants, teams) repeat across queries.
   */
  filterKeys(filters: Filters, now: number): Set<number> {
    const compiled = compileFilters(filters, now);
    const cacheKey = `${compiled.sql}\u0000${JSON.stringify(compiled.params)}`;
    const cached = this.filterCache.get(cacheKey);
    if (cached !== undefined) return cached;
    const keys = new Set(
      this.db
        .prepare(compiled.sql)
        .pluck()
        .all(...compiled.params) as number[],
    );
    if (this.filterCache.size >= 64) this.filterCache.delete(this.filterCache.keys().next().value as string);
    this.filterCache.set(cacheKey, keys);
    return keys;
  }

  /** All chunks in key order, in pages (for re-embedding or rebuilding indexes). */
  *iterateChunks(pageSize = 1000): Generator<Chunk[]> {
    let after = 0;
    const statement = this.statement('SELECT * FROM chunks WHERE key > ? ORDER BY key LIMIT ?');
    for (;;) {
      const rows = statement.all(after, pageSize) as ChunkRow[];
      if (rows.length === 0) return;
      yield rows.map(toChunk);
      after = (rows[rows.length - 1] as ChunkRow).key;
    }
  }
}

function toStoredDocument(row: Record<string, unknown>): StoredDocument {
  return {
    id: row['id'] as string,
    title: row['title'] as string,
    sourcePath: row['source_path'] as string,
    sourceUrl: (row['source_url'] as string | null) ?? null,
    sourceRoot: (row['source_root'] as string | null) ?? null,
    lastModified: row['last_modified'] as number,
    contentHash: row['content_hash'] as string,
    chunker: row['chunker'] as string,
    chunkCount: row['chunk_count'] as number,
  };
}

function toChunk(row: ChunkRow): Chunk {
  return {
    key: row.key,
    id: row.id,
    text: row.text,
    metadata: {
      documentId: row.document_id,
      title: row.title,
      headingPath: JSON.parse(row.heading_path) as string[],
      sourcePath: row.source_path,
      sourceUrl: row.source_url,
      lastModified: row.last_modified,
      position: row.position,
      tokenCount: row.token_count,
      contentHash: row.content_hash,
      start: row.start,
      end: row.end,
      extra: JSON.parse(row.metadata) as Record<string, MetadataValue>,
    },
  };
}
