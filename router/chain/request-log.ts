// The request log: one JSON line per logged request and per feedback, appended to a file that `eval add-case
// --from-request` reads (evals/dataset/add-case.ts: `{id, timestamp, model, request, response}`). Readers and writers
// go through the small `RequestLog` interface, so another sink (the router's per-request JSON log lines, a database)
// can take its place without touching feedback or evals.
import type { ServerResponse } from 'node:http';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { RecentLines } from './recent-lines.ts';

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
 * JSONL file; recent requests are also kept in memory (bounded; recent-lines.ts keeps them off the JavaScript heap)
 * so feedback does not rescan the file. appendSoon's lines are appended in batches, synchronously: one append per
 * batch window is noise next to a request, and a synchronous append keeps the file in the order the lines were
 * logged (asynchronous appends on the thread pool may land out of order, and a shutdown flush would overtake them).
 */
export class JsonlRequestLog implements RequestLog {
  private readonly recent: RecentLines;
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly path: string,
    keepRecent = 10_000,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.recent = new RecentLines({ keepLines: keepRecent });
  }

  append(entry: RequestLogEntry): void {
    const line = `${JSON.stringify(entry)}\n`;
    // Everything appendSoon gathered goes first, so the file keeps the order the lines were logged in.
    if (entry.type === 'request') {
      this.recent.add(line, [entry.id, entry.response_id]);
      this.flush();
    } else {
      this.flush();
      appendFileSync(this.path, line);
    }
  }

  appendSoon(entry: LoggedRequest): void {
    const line = requestLine(entry);
    this.recent.add(line, [entry.id, entry.response_id]);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= APPEND_BATCH_BYTES) {
      this.flushLogged();
    } else if (this.timer === undefined) {
      // An append per request (open, write, close) would cost more than the rest of the request's own work; one per
      // batch window is noise.
      this.timer = setTimeout(() => this.flushLogged(), APPEND_WINDOW_MS);
      this.timer.unref();
    }
  }

  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.pendingBytes = 0;
    const bytes = this.recent.unwritten();
    if (bytes.length > 0) appendFileSync(this.path, bytes);
  }

  /** A flush off the caller's path: a failing disk must not fail a request (the lines stay findable in memory). */
  private flushLogged(): void {
    try {
      this.flush();
    } catch (error) {
      process.emitWarning(`request log: append to ${this.path} failed: ${(error as Error).message}`);
    }
  }

  findRequest(id: string): LoggedRequest | undefined {
    const recent = this.recent.find(id);
    if (recent !== undefined) {
      const entry = JSON.parse(recent) as LoggedRequest;
      // Another id with the same hash: the file has the one asked for.
      if (entry.id === id || entry.response_id === id) return entry;
    }
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

/** Ids the router makes or admits (UUIDs, `[\w.:-]` request ids): JSON text without escaping. */
const PLAIN_ID = /^[\w.:-]*$/;

/**
 * The JSONL line of a request entry, as `JSON.stringify` writes it. The line every answered request gets when bodies
 * are not logged (ids, time, model, prompt versions, latency) is put together here: JSON.stringify of a fresh object
 * with optional fields costs ~8k instructions per line (callgrind), more than half of the log's work per request.
 * Anything else is stringified.
 */
export function requestLine(entry: LoggedRequest): string {
  const { id, timestamp, model, prompts, latency_ms: latency } = entry;
  if (
    entry.response_id !== undefined ||
    entry.request !== undefined ||
    entry.response !== undefined ||
    entry.verification !== undefined ||
    entry.cost_usd !== undefined ||
    typeof id !== 'string' ||
    !PLAIN_ID.test(id) ||
    typeof timestamp !== 'string' ||
    (model !== null && typeof model !== 'string') ||
    (latency !== undefined && typeof latency !== 'number')
  ) {
    return `${JSON.stringify(entry)}\n`;
  }
  let line = `{"type":"request","id":"${id}","timestamp":${JSON.stringify(timestamp)},"model":${
    model === null ? 'null' : JSON.stringify(model)
  },"prompts":${JSON.stringify(prompts)}`;
  if (latency !== undefined) line += `,"latency_ms":${JSON.stringify(latency)}`;
  return `${line}}\n`;
}

/** What the router's request-log wrapper (routes/log-requests.ts) needs to log requests the chain did not serve. */
export interface RequestLogging {
  requestLog: RequestLog | undefined;
  /** Keep request and answer bodies (config `requestLog.bodies`). */
  logBodies: boolean;
  /** Responses the chain served: it logs them itself. */
  chained: WeakSet<ServerResponse>;
}
