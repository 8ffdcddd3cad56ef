// Durable state of the Batch API in SQLite (better-sqlite3, WAL): file metadata, batches, and one row per input line
// with its state, attempts and final output line. Every state change is one transaction, so a SIGKILL at any point
// leaves a consistent database: a finished line is recorded exactly once, an unfinished one is still `pending`.
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BatchEndpoint } from './contracts.ts';

export type FilePurpose = 'batch' | 'batch_output';

export interface FileRecord {
  id: string;
  bytes: number;
  created_at: number;
  filename: string;
  purpose: FilePurpose;
  /** Who may see it: the API key id under governance, '' when keys are off. */
  owner: string;
}

export type BatchStatus =
  'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

export interface BatchErrorEntry {
  code: string;
  message: string;
  param: string | null;
  line: number | null;
}

export interface BatchRecord {
  id: string;
  status: BatchStatus;
  endpoint: BatchEndpoint;
  input_file_id: string;
  completion_window: string;
  created_at: number;
  expires_at: number;
  metadata: Record<string, string> | null;
  model: string | null;
  in_progress_at: number | null;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  output_file_id: string | null;
  error_file_id: string | null;
  errors: BatchErrorEntry[] | null;
  total: number;
  completed: number;
  failed: number;
  input_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  gpu_seconds: number;
  cost_usd: number;
  hosted_requests: number;
  owner: string;
}

export type RequestState = 'pending' | 'succeeded' | 'failed' | 'expired' | 'cancelled';

export interface RequestRow {
  batch_id: string;
  line: number;
  custom_id: string;
  body: string;
  model: string | null;
  attempts: number;
  next_attempt_at: number;
}

export interface ParsedLine {
  line: number;
  customId: string;
  body: string;
  model: string | null;
}

export interface LineOutcome {
  state: Exclude<RequestState, 'pending'>;
  /** The whole output/error-file line (JSON). */
  output: string;
  usage?: { input: number; output: number; cached: number };
  gpuSeconds?: number;
  costUsd?: number;
  hosted?: boolean;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS files (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT UNIQUE NOT NULL, bytes INTEGER NOT NULL, created_at INTEGER NOT NULL,
  filename TEXT NOT NULL, purpose TEXT NOT NULL, owner TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS batches (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT UNIQUE NOT NULL, status TEXT NOT NULL, endpoint TEXT NOT NULL, input_file_id TEXT NOT NULL,
  completion_window TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
  metadata TEXT, model TEXT,
  in_progress_at INTEGER, finalizing_at INTEGER, completed_at INTEGER, failed_at INTEGER, expired_at INTEGER,
  cancelling_at INTEGER, cancelled_at INTEGER, output_file_id TEXT, error_file_id TEXT, errors TEXT,
  total INTEGER NOT NULL DEFAULT 0, completed INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
  input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,
  cached_tokens INTEGER NOT NULL DEFAULT 0, gpu_seconds REAL NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0,
  hosted_requests INTEGER NOT NULL DEFAULT 0, owner TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS requests (
  batch_id TEXT NOT NULL, line INTEGER NOT NULL, custom_id TEXT NOT NULL, body TEXT NOT NULL, model TEXT,
  state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0, output TEXT, finished_seq INTEGER,
  PRIMARY KEY (batch_id, line)
);
CREATE INDEX IF NOT EXISTS requests_pending ON requests (batch_id, state, next_attempt_at);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

interface BatchRow extends Omit<BatchRecord, 'metadata' | 'errors'> {
  metadata: string | null;
  errors: string | null;
}

export interface Page<T> {
  data: T[];
  hasMore: boolean;
}

const TERMINAL: ReadonlySet<BatchStatus> = new Set(['failed', 'completed', 'expired', 'cancelled']);
export const isTerminal = (status: BatchStatus): boolean => TERMINAL.has(status);

export class BatchStore {
  readonly db: Database.Database;

  constructor(root: string) {
    mkdirSync(root, { recursive: true });
    // better-sqlite3 loads with the first batch store, not with every router.
    const SQLite = createRequire(import.meta.url)('better-sqlite3') as typeof Database;
    this.db = new SQLite(join(root, 'batch.sqlite'));
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a process crash (SIGKILL); only an OS crash could lose the last commits.
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
  }

  close(): void {
    this.db.close();
  }

  // ---- files ----
  insertFile(file: FileRecord): void {
    this.db
      .prepare(
        'INSERT INTO files (id, bytes, created_at, filename, purpose, owner) VALUES (@id, @bytes, @created_at, @filename, @purpose, @owner)',
      )
      .run(file);
  }

  /** A file, if it exists and (when `owner` is given) belongs to that owner. */
  getFile(id: string, owner?: string): FileRecord | undefined {
    const file = this.db
      .prepare('SELECT id, bytes, created_at, filename, purpose, owner FROM files WHERE id = ?')
      .get(id) as FileRecord | undefined;
    return file && (owner === undefined || file.owner === owner) ? file : undefined;
  }

  deleteFile(id: string): boolean {
    return this.db.prepare('DELETE FROM files WHERE id = ?').run(id).changes > 0;
  }

  /** Newest first; `after` is the id of the last item of the previous page. */
  listFiles(options: {
    owner: string;
    after?: string;
    limit: number;
    purpose?: string;
    order: 'asc' | 'desc';
  }): Page<FileRecord> {
    const where: string[] = ['owner = ?'];
    const parameters: Array<string | number> = [options.owner];
    const comparison = options.order === 'desc' ? '<' : '>';
    if (options.after !== undefined) {
      where.push(
        `seq ${comparison} COALESCE((SELECT seq FROM files WHERE id = ?), ${options.order === 'desc' ? -1 : 'NULL'})`,
      );
      parameters.push(options.after);
    }
    if (options.purpose !== undefined) {
      where.push('purpose = ?');
      parameters.push(options.purpose);
    }
    const sql = `SELECT id, bytes, created_at, filename, purpose, owner FROM files WHERE ${where.join(' AND ')}
      ORDER BY seq ${options.order === 'desc' ? 'DESC' : 'ASC'} LIMIT ?`;
    const rows = this.db.prepare(sql).all(...parameters, options.limit + 1) as FileRecord[];
    return { data: rows.slice(0, options.limit), hasMore: rows.length > options.limit };
  }

  // ---- batches ----
  insertBatch(batch: BatchRecord): void {
    this.db
      .prepare(
        `INSERT INTO batches (id, status, endpoint, input_file_id, completion_window, created_at, expires_at, metadata, owner)
         VALUES (@id, @status, @endpoint, @input_file_id, @completion_window, @created_at, @expires_at, @metadata, @owner)`,
      )
      .run({ ...batch, metadata: batch.metadata === null ? null : JSON.stringify(batch.metadata) });
  }

  /** A batch, if it exists and (when `owner` is given) belongs to that owner. */
  getBatch(id: string, owner?: string): BatchRecord | undefined {
    const row = this.db.prepare('SELECT * FROM batches WHERE id = ?').get(id) as
      (BatchRow & { seq: number }) | undefined;
    return row && (owner === undefined || row.owner === owner) ? toBatch(row) : undefined;
  }

  listBatches(options: { owner: string; after?: string; limit: number }): Page<BatchRecord> {
    const rows = (
      options.after === undefined
        ? this.db
            .prepare('SELECT * FROM batches WHERE owner = ? ORDER BY seq DESC LIMIT ?')
            .all(options.owner, options.limit + 1)
        : this.db
            .prepare(
              'SELECT * FROM batches WHERE owner = ? AND seq < COALESCE((SELECT seq FROM batches WHERE id = ?), -1) ORDER BY seq DESC LIMIT ?',
            )
            .all(options.owner, options.after, options.limit + 1)
    ) as BatchRow[];
    return { data: rows.slice(0, options.limit).map(toBatch), hasMore: rows.length > options.limit };
  }

  batchesWithStatus(statuses: readonly BatchStatus[]): BatchRecord[] {
    const marks = statuses.map(() => '?').join(',');
    return (
      this.db
        .prepare(`SELECT * FROM batches WHERE status IN (${marks}) ORDER BY seq ASC`)
        .all(...statuses) as BatchRow[]
    ).map(toBatch);
  }

  /** Moves a batch to a status and stamps `<status>_at`, only if it is still in one of `from`. */
  transition(
    id: string,
    from: readonly BatchStatus[],
    to: BatchStatus,
    now: number,
    extra: Partial<Pick<BatchRecord, 'output_file_id' | 'error_file_id'>> = {},
  ): boolean {
    const stamp = `${to}_at`;
    const sets = ['status = @to', `${stamp} = @now`];
    if (extra.output_file_id !== undefined) sets.push('output_file_id = @output_file_id');
    if (extra.error_file_id !== undefined) sets.push('error_file_id = @error_file_id');
    const marks = from.map((_, index) => `@from${index}`).join(',');
    const parameters: Record<string, unknown> = { id, to, now, ...extra };
    from.forEach((status, index) => (parameters[`from${index}`] = status));
    return (
      this.db.prepare(`UPDATE batches SET ${sets.join(', ')} WHERE id = @id AND status IN (${marks})`).run(parameters)
        .changes > 0
    );
  }

  /** Validation failed: status failed with the line-numbered errors. */
  failValidation(id: string, errors: BatchErrorEntry[], now: number): void {
    this.db
      .prepare("UPDATE batches SET status = 'failed', failed_at = ?, errors = ? WHERE id = ? AND status = 'validating'")
      .run(now, JSON.stringify(errors), id);
  }

  /** Validation passed: every line becomes a pending request and the batch starts, in one transaction. */
  startBatch(id: string, lines: readonly ParsedLine[], model: string | null, now: number): boolean {
    const insert = this.db.prepare(
      'INSERT INTO requests (batch_id, line, custom_id, body, model) VALUES (?, ?, ?, ?, ?)',
    );
    return this.db.transaction(() => {
      const changed = this.db
        .prepare(
          "UPDATE batches SET status = 'in_progress', in_progress_at = ?, total = ?, model = ? WHERE id = ? AND status = 'validating'",
        )
        .run(now, lines.length, model, id).changes;
      if (changed === 0) return false;
      for (const line of lines) insert.run(id, line.line, line.customId, line.body, line.model);
      return true;
    })();
  }

  // ---- requests ----
  /** Pending lines ready to run (next attempt due), in input order, skipping the ones already in flight. */
  readyRequests(batchId: string, now: number, limit: number, skip: ReadonlySet<number>): RequestRow[] {
    const rows = this.db
      .prepare(
        `SELECT batch_id, line, custom_id, body, model, attempts, next_attempt_at FROM requests
         WHERE batch_id = ? AND state = 'pending' AND next_attempt_at <= ? ORDER BY line LIMIT ?`,
      )
      .all(batchId, now, limit + skip.size) as RequestRow[];
    return rows.filter((row) => !skip.has(row.line)).slice(0, limit);
  }

  pendingCount(batchId: string): number {
    return (
      this.db.prepare("SELECT COUNT(*) AS n FROM requests WHERE batch_id = ? AND state = 'pending'").get(batchId) as {
        n: number;
      }
    ).n;
  }

  totalPending(): number {
    return (
      this.db
        .prepare(
          "SELECT COUNT(*) AS n FROM requests r JOIN batches b ON b.id = r.batch_id WHERE r.state = 'pending' AND b.status = 'in_progress'",
        )
        .get() as { n: number }
    ).n;
  }

  /** Earliest next-attempt time among pending lines (retry back-off), or null. */
  nextAttemptAt(batchId: string): number | null {
    const row = this.db
      .prepare("SELECT MIN(next_attempt_at) AS t FROM requests WHERE batch_id = ? AND state = 'pending'")
      .get(batchId) as { t: number | null };
    return row.t;
  }

  /** A retryable failure: count the attempt and push the next one back. */
  deferRequest(batchId: string, line: number, nextAttemptAt: number): void {
    this.db
      .prepare(
        "UPDATE requests SET attempts = attempts + 1, next_attempt_at = ? WHERE batch_id = ? AND line = ? AND state = 'pending'",
      )
      .run(nextAttemptAt, batchId, line);
  }

  /** Records a line's final outcome and the batch's counters together; false if it was already final. */
  finishRequest(batchId: string, line: number, outcome: LineOutcome): boolean {
    return this.db.transaction(() => {
      const seq = this.nextSequence();
      const changed = this.db
        .prepare(
          "UPDATE requests SET state = ?, output = ?, finished_seq = ?, attempts = attempts + 1 WHERE batch_id = ? AND line = ? AND state = 'pending'",
        )
        .run(outcome.state, outcome.output, seq, batchId, line).changes;
      if (changed === 0) return false;
      const succeeded = outcome.state === 'succeeded' ? 1 : 0;
      const failed = outcome.state === 'failed' ? 1 : 0;
      this.db
        .prepare(
          `UPDATE batches SET completed = completed + ?, failed = failed + ?, input_tokens = input_tokens + ?,
           output_tokens = output_tokens + ?, cached_tokens = cached_tokens + ?, gpu_seconds = gpu_seconds + ?,
           cost_usd = cost_usd + ?, hosted_requests = hosted_requests + ? WHERE id = ?`,
        )
        .run(
          succeeded,
          failed,
          outcome.usage?.input ?? 0,
          outcome.usage?.output ?? 0,
          outcome.usage?.cached ?? 0,
          outcome.gpuSeconds ?? 0,
          outcome.costUsd ?? 0,
          outcome.hosted ? 1 : 0,
          batchId,
        );
      return true;
    })();
  }

  /** Every still-pending line of a batch gets the same final outcome (expiry / cancel). */
  closePending(
    batchId: string,
    state: 'expired' | 'cancelled',
    outputFor: (row: { line: number; custom_id: string }) => string,
  ): number {
    return this.db.transaction(() => {
      const rows = this.db
        .prepare("SELECT line, custom_id FROM requests WHERE batch_id = ? AND state = 'pending' ORDER BY line")
        .all(batchId) as Array<{
        line: number;
        custom_id: string;
      }>;
      const update = this.db.prepare(
        'UPDATE requests SET state = ?, output = ?, finished_seq = ? WHERE batch_id = ? AND line = ?',
      );
      for (const row of rows) update.run(state, outputFor(row), this.nextSequence(), batchId, row.line);
      // OpenAI counts expired/cancelled lines as failed in request_counts.
      this.db.prepare('UPDATE batches SET failed = failed + ? WHERE id = ?').run(rows.length, batchId);
      return rows.length;
    })();
  }

  /** Output lines of a batch in completion order: successes, or everything else. */
  outputLines(batchId: string, kind: 'output' | 'error'): string[] {
    const condition = kind === 'output' ? "state = 'succeeded'" : "state IN ('failed', 'expired', 'cancelled')";
    return (
      this.db
        .prepare(`SELECT output FROM requests WHERE batch_id = ? AND ${condition} ORDER BY finished_seq`)
        .all(batchId) as Array<{
        output: string;
      }>
    ).map((row) => row.output);
  }

  /** Finalize: register the output/error files and move to the final status in one transaction. */
  finalize(
    batchId: string,
    files: readonly FileRecord[],
    to: BatchStatus,
    now: number,
    ids: { output_file_id?: string; error_file_id?: string },
  ): boolean {
    return this.db.transaction(() => {
      const changed = this.transition(batchId, ['finalizing', 'cancelling', 'in_progress'], to, now, ids);
      if (!changed) return false;
      for (const file of files) this.insertFile(file);
      return true;
    })();
  }

  private nextSequence(): number {
    const row = this.db
      .prepare(
        "INSERT INTO counters (name, value) VALUES ('finished', 1) ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
      )
      .get() as { value: number };
    return row.value;
  }
}

function toBatch(row: BatchRow): BatchRecord {
  const { seq: _seq, ...rest } = row as BatchRow & { seq?: number };
  return {
    ...rest,
    metadata: row.metadata === null ? null : (JSON.parse(row.metadata) as Record<string, string>),
    errors: row.errors === null ? null : (JSON.parse(row.errors) as BatchErrorEntry[]),
  };
}
