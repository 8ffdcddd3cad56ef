// The request log: one JSON line per logged request and per feedback, appended to a file that `eval add-case
// --from-request` reads (evals/dataset/add-case.ts: `{id, timestamp, model, request, response}`). Readers and writers
// go through the small `RequestLog` interface, so another sink (the router's per-request JSON log lines, a database)
// can take its place without touching feedback or evals.
import type { ServerResponse } from 'node:http';
import { appendFile, appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface LoggedRequest {
  type: 'request';
  /** The router's request id (`x-request-id`). */
  id: string;
  /** The completion's own id (`chatcmpl-…`), which clients see first; feedback accepts either. */
  response_id?: string;
  timestamp: string;
  /** Router model that answered. */
  model: string | null;
  /** Prompt versions used, per step (`chain-answer@2`). */
  prompts: Record<string, string>;
  request?: Record<string, unknown>;
  response?: { choices: Array<{ message: { content: string } }> };
  verification?: { status: string; regenerated: boolean };
  cost_usd?: number;
  latency_ms?: number;
}

export interface LoggedFeedback {
  type: 'feedback';
  id: string;
  request_id: string;
  timestamp: string;
  score: number;
  comment?: string;
  tags?: string[];
  model: string | null;
  prompts: Record<string, string>;
}

export type RequestLogEntry = LoggedRequest | LoggedFeedback;

export interface RequestLog {
  append(entry: RequestLogEntry): void;
  /** Every answered request: findable at once, written to the file soon after (off the request's path). */
  appendSoon(entry: LoggedRequest): void;
  /** Writes what appendSoon still holds (at shutdown). */
  flush(): void;
  findRequest(id: string): LoggedRequest | undefined;
  feedbackFor(id: string): LoggedFeedback[];
}

/**
 * How long appendSoon gathers lines before one append, and the size that writes them at once. Feedback finds a
 * request in memory at once; a reader of the file (`eval add-case --from-request`) sees it within the window.
 */
const APPEND_WINDOW_MS = 100;
const APPEND_BATCH_BYTES = 64 * 1024;

/**
 * JSONL file; recent requests are also kept in memory (bounded) so feedback does not rescan the file. They are kept
 * as their JSON lines: one flat string per request costs the garbage collector next to nothing, where the entry's
 * object graph (the whole request body) would be promoted and traced on every collection while it is kept.
 */
export class JsonlRequestLog implements RequestLog {
  private readonly recent = new Map<string, string>();
  /** Keys of `recent` in insertion order, as a ring: the oldest is evicted in O(1), without a Map iterator. */
  private readonly ringKeys: Array<string | undefined>;
  private readonly ringLines: Array<string | undefined>;
  private ringNext = 0;
  /** Lines of appendSoon not yet written; a synchronous append writes them first, so the file keeps their order. */
  private pending: string[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly path: string,
    private readonly keepRecent = 10_000,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.ringKeys = new Array<string | undefined>(keepRecent);
    this.ringLines = new Array<string | undefined>(keepRecent);
  }

  append(entry: RequestLogEntry): void {
    const lines = this.takePending();
    const line = `${JSON.stringify(entry)}\n`;
    appendFileSync(this.path, `${lines}${line}`);
    if (entry.type === 'request') this.remember(entry, line);
  }

  appendSoon(entry: LoggedRequest): void {
    const line = `${JSON.stringify(entry)}\n`;
    this.remember(entry, line);
    this.pendingBytes += line.length;
    if (this.pending.push(line) === 1) {
      // Each append opens, writes and closes the file on the thread pool; per request that was the largest single
      // cost of a JSON request after node's own HTTP work, per batch window it is noise.
      this.timer = setTimeout(() => this.writeSoon(), APPEND_WINDOW_MS);
      this.timer.unref();
    } else if (this.pendingBytes >= APPEND_BATCH_BYTES) {
      this.writeSoon();
    }
  }

  /** Hands the lines gathered so far to one asynchronous append. */
  private writeSoon(): void {
    const lines = this.takePending();
    if (lines !== '') appendFile(this.path, lines, () => undefined);
  }

  flush(): void {
    const lines = this.takePending();
    if (lines !== '') appendFileSync(this.path, lines);
  }

  private takePending(): string {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const lines = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    return lines;
  }

  private remember(entry: LoggedRequest, line: string): void {
    this.keep(entry.id, line);
    if (entry.response_id !== undefined) this.keep(entry.response_id, line);
  }

  private keep(key: string, line: string): void {
    const slot = this.ringNext;
    const evicted = this.ringKeys[slot];
    // A key logged again since keeps its newer line.
    if (evicted !== undefined && this.recent.get(evicted) === this.ringLines[slot]) this.recent.delete(evicted);
    this.ringKeys[slot] = key;
    this.ringLines[slot] = line;
    this.ringNext = slot + 1 === this.keepRecent ? 0 : slot + 1;
    this.recent.set(key, line);
  }

  findRequest(id: string): LoggedRequest | undefined {
    const recent = this.recent.get(id);
    if (recent !== undefined) return JSON.parse(recent) as LoggedRequest;
    return this.scan((entry) => entry.type === 'request' && (entry.id === id || entry.response_id === id)).at(-1) as
      LoggedRequest | undefined;
  }

  feedbackFor(id: string): LoggedFeedback[] {
    return this.scan((entry) => entry.type === 'feedback' && entry.request_id === id) as LoggedFeedback[];
  }

  /** Torn or foreign lines are skipped: the file is append-only and may be shared. */
  private scan(match: (entry: RequestLogEntry) => boolean): RequestLogEntry[] {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return [];
    }
    const found: RequestLogEntry[] = [];
    for (const line of text.split('\n')) {
      if (line.length === 0) continue;
      try {
        const entry = JSON.parse(line) as RequestLogEntry;
        if (match(entry)) found.push(entry);
      } catch {
        continue;
      }
    }
    return found;
  }
}

/** What the router's request-log wrapper (routes/log-requests.ts) needs to log requests the chain did not serve. */
export interface RequestLogging {
  requestLog: RequestLog | undefined;
  /** Keep request and answer bodies (config `requestLog.bodies`). */
  logBodies: boolean;
  /** Responses the chain served: it logs them itself. */
  chained: WeakSet<ServerResponse>;
}
