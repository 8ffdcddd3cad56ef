// The low-priority batch scheduler. Each tick (every `pollIntervalMs`, and whenever something happens) it validates
// new batches, applies cancels and expiries, finalizes finished batches, and feeds pending lines to the pools — only
// while the pool serving a line's model has room left by interactive traffic (KV usage, engine queue, interactive
// in-flight below the thresholds), at most `maxInFlightPerModel` at a time. When interactive requests start to queue,
// in-flight batch requests are aborted (preempted) and re-queued without using an attempt. Retryable failures back
// off exponentially per line; hosted spill-over is only allowed for batches whose metadata allows it and whose
// window is at risk. All state lives in the store, so a restart resumes exactly where the database says.
import { randomBytes } from 'node:crypto';
import { SwitchyardError, UpstreamError, renderError } from '../../core/errors.ts';
import { ALLOW_HOSTED_METADATA_KEY, type BatchConfig } from '../config/batch.ts';
import type { BatchDispatcher, Clock, LoadSnapshot, PoolLoad } from './contracts.ts';
import type { FileBlobStore } from './files.ts';
import { NO_METRICS, type BatchMetrics } from './metrics.ts';
import type { BatchRecord, BatchStore, FileRecord, LineOutcome, RequestRow } from './store.ts';
import { validateBatchInput } from './validate.ts';

export interface BatchSchedulerDeps {
  store: BatchStore;
  blobs: FileBlobStore;
  dispatcher: BatchDispatcher;
  load: PoolLoad;
  clock: Clock;
  config: BatchConfig;
  metrics?: BatchMetrics;
  /** Called with unexpected errors of a tick (the scheduler keeps running). */
  onError?: (error: unknown) => void;
  random?: () => number;
}

type AbortReason = 'preempted' | 'cancelled' | 'expired' | 'shutdown';

interface InFlight {
  batchId: string;
  line: number;
  model: string;
  hosted: boolean;
  controller: AbortController;
  reason: AbortReason | null;
  settled: Promise<void>;
}

interface Admission {
  open: boolean;
  preempt: boolean;
}

export const newId = (prefix: string): string => `${prefix}${randomBytes(12).toString('hex')}`;
export const toSeconds = (milliseconds: number): number => Math.floor(milliseconds / 1000);

export class BatchScheduler {
  private readonly inFlight = new Map<string, InFlight>();
  private readonly metrics: BatchMetrics;
  private readonly random: () => number;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private readonly pausedModels = new Set<string>();
  /** Lines dispatched so far by this instance (tests and benchmarks read it). */
  dispatchedCount = 0;

  constructor(private readonly deps: BatchSchedulerDeps) {
    this.metrics = deps.metrics ?? NO_METRICS;
    this.random = deps.random ?? Math.random;
  }

  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => this.wake(), this.deps.config.pollIntervalMs);
    this.timer.unref();
    this.wake();
  }

  /** Runs a tick soon (coalesced: a wake during a tick runs one more tick after it). */
  wake(): void {
    if (this.closed) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = this.runTicks();
  }

  /** Resolves when no tick is running (tests use it after wake()). */
  async idle(): Promise<void> {
    while (this.ticking) await this.ticking;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  isPaused(model: string): boolean {
    return this.pausedModels.has(model);
  }

  /** Stops dispatching; in-flight requests are aborted and stay pending in the store (a restart re-runs them). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.idle();
    const settling = [...this.inFlight.values()].map((entry) => {
      this.abort(entry, 'shutdown');
      return entry.settled;
    });
    await Promise.allSettled(settling);
  }

  private async runTicks(): Promise<void> {
    try {
      do {
        this.again = false;
        try {
          await this.tick();
        } catch (error) {
          this.deps.onError?.(error);
        }
      } while (this.again && !this.closed);
    } finally {
      this.ticking = null;
    }
  }

  /** One pass over every batch that is not final. Public so tests can drive it with a virtual clock. */
  async tick(): Promise<void> {
    const { store } = this.deps;
    const now = this.deps.clock();
    for (const batch of store.batchesWithStatus(['validating'])) this.validate(batch, now);
    for (const batch of store.batchesWithStatus(['cancelling'])) await this.stop(batch, 'cancelled', now);
    for (const batch of store.batchesWithStatus(['finalizing'])) this.finalize(batch, 'completed', now);
    const active: BatchRecord[] = [];
    for (const batch of store.batchesWithStatus(['in_progress'])) {
      if (toSeconds(now) >= batch.expires_at) {
        await this.stop(batch, 'expired', now);
      } else if (store.pendingCount(batch.id) === 0 && !this.hasInFlight(batch.id)) {
        if (store.transition(batch.id, ['in_progress'], 'finalizing', toSeconds(now))) {
          this.finalize({ ...batch, status: 'finalizing' }, 'completed', now);
        }
      } else {
        active.push(batch);
      }
    }
    if (!this.closed) await this.dispatchReady(active, now);
  }

  private validate(batch: BatchRecord, now: number): void {
    const { store, blobs, config } = this.deps;
    const file = store.getFile(batch.input_file_id);
    if (!file) {
      store.failValidation(
        batch.id,
        [
          {
            code: 'invalid_input_file',
            message: `Input file ${batch.input_file_id} no longer exists.`,
            param: 'input_file_id',
            line: null,
          },
        ],
        toSeconds(now),
      );
      return;
    }
    let content: Buffer;
    try {
      content = blobs.read(file.id);
    } catch {
      store.failValidation(
        batch.id,
        [
          {
            code: 'invalid_input_file',
            message: `Input file ${file.id} cannot be read.`,
            param: 'input_file_id',
            line: null,
          },
        ],
        toSeconds(now),
      );
      return;
    }
    const result = validateBatchInput(content, batch.endpoint, config);
    if (!result.ok) {
      store.failValidation(batch.id, result.errors, toSeconds(now));
      return;
    }
    store.startBatch(batch.id, result.lines, result.model, toSeconds(now));
  }

  /** Cancel or expiry: abort the batch's in-flight lines, close the pending ones, write the files. */
  private async stop(batch: BatchRecord, to: 'cancelled' | 'expired', now: number): Promise<void> {
    const entries = [...this.inFlight.values()].filter((entry) => entry.batchId === batch.id);
    for (const entry of entries) this.abort(entry, to);
    await Promise.allSettled(entries.map((entry) => entry.settled));
    const code = to === 'expired' ? 'batch_expired' : 'batch_cancelled';
    const message =
      to === 'expired'
        ? 'This request could not be executed before the completion window expired.'
        : 'This request was not executed because the batch was cancelled.';
    const closed = this.deps.store.closePending(batch.id, to, (row) =>
      JSON.stringify({ id: newId('batch_req_'), custom_id: row.custom_id, response: null, error: { code, message } }),
    );
    this.metrics.requests(to, closed);
    this.finalize(batch, to, now);
  }

  private finalize(batch: BatchRecord, to: 'completed' | 'cancelled' | 'expired', now: number): void {
    const { store, blobs } = this.deps;
    const files: FileRecord[] = [];
    const ids: { output_file_id?: string; error_file_id?: string } = {};
    for (const kind of ['output', 'error'] as const) {
      const lines = store.outputLines(batch.id, kind);
      if (lines.length === 0) continue;
      const id = newId('file-');
      const bytes = blobs.write(
        id,
        lines.map((line) => `${line}\n`),
      );
      files.push({
        id,
        bytes,
        created_at: toSeconds(now),
        filename: `${batch.id}_${kind}.jsonl`,
        purpose: 'batch_output',
        owner: batch.owner,
      });
      ids[kind === 'output' ? 'output_file_id' : 'error_file_id'] = id;
    }
    if (!store.finalize(batch.id, files, to, toSeconds(now), ids)) {
      // Someone else finalized it first (e.g. cancel raced completion): drop the files we wrote.
      for (const file of files) blobs.remove(file.id);
    }
  }

  private hasInFlight(batchId: string): boolean {
    for (const entry of this.inFlight.values()) if (entry.batchId === batchId) return true;
    return false;
  }

  private inFlightFor(model: string, hosted: boolean): number {
    let count = 0;
    for (const entry of this.inFlight.values()) if (entry.model === model && entry.hosted === hosted) count++;
    return count;
  }

  private async admission(model: string, cache: Map<string, Admission>): Promise<Admission> {
    const cached = cache.get(model);
    if (cached) return cached;
    const limits = this.deps.config.admission;
    let load: LoadSnapshot | null;
    try {
      load = await this.deps.load.headroom(model);
    } catch {
      load = null;
    }
    // Unknown model: let the dispatcher answer (it fails fast with a 404 that goes to the error file).
    // The engines' queue also holds our own just-sent requests (a request waits until the next engine step): only
    // what our in-flight count cannot explain is interactive queueing.
    const busyQueue = load !== null && load.waiting - this.inFlightFor(model, false) > limits.waitingMax;
    const open =
      load === null ||
      (load.kvUsage < limits.kvUsageMax &&
        !busyQueue &&
        (limits.interactiveInFlightMax === null || load.interactiveInFlight <= limits.interactiveInFlightMax));
    const interactiveOver =
      load !== null &&
      limits.interactiveInFlightMax !== null &&
      load.interactiveInFlight > limits.interactiveInFlightMax;
    const admission = { open, preempt: limits.preemptInFlight && (busyQueue || interactiveOver) };
    if (this.pausedModels.has(model) !== !open) {
      if (open) this.pausedModels.delete(model);
      else this.pausedModels.add(model);
      this.metrics.paused(model, !open);
    }
    cache.set(model, admission);
    return admission;
  }

  private async dispatchReady(active: readonly BatchRecord[], now: number): Promise<void> {
    const { store, config } = this.deps;
    const admissions = new Map<string, Admission>();
    // Preemption first: interactive requests are queueing, so the batch gives the pool back at once.
    const models = new Set([...this.inFlight.values()].filter((entry) => !entry.hosted).map((entry) => entry.model));
    for (const model of models) {
      const admission = await this.admission(model, admissions);
      if (!admission.preempt) continue;
      for (const entry of this.inFlight.values())
        if (entry.model === model && !entry.hosted) this.abort(entry, 'preempted');
    }
    for (const batch of active) {
      const allowHosted = batch.metadata?.[ALLOW_HOSTED_METADATA_KEY] === 'true' && this.atRisk(batch, now);
      const skip = new Set<number>();
      for (const entry of this.inFlight.values()) if (entry.batchId === batch.id) skip.add(entry.line);
      const budget = config.admission.maxInFlightPerModel + (allowHosted ? config.hostedSpill.maxInFlight : 0);
      const rows = store.readyRequests(batch.id, now, budget, skip);
      for (const row of rows) {
        if (this.closed) return;
        const model = row.model ?? '';
        const admission = await this.admission(model, admissions);
        if (admission.open && this.inFlightFor(model, false) < config.admission.maxInFlightPerModel) {
          this.launch(batch, row, false);
        } else if (allowHosted && this.inFlightFor(model, true) < config.hostedSpill.maxInFlight) {
          this.metrics.hostedSpill(model);
          this.launch(batch, row, true);
        }
      }
    }
  }

  /** The window is at risk: close to expiry, or the throughput so far cannot finish the rest in time. */
  private atRisk(batch: BatchRecord, now: number): boolean {
    const remainingMs = batch.expires_at * 1000 - now;
    if (remainingMs <= this.deps.config.hostedSpill.atRiskWithinMs) return true;
    const elapsedMs = now - (batch.in_progress_at ?? batch.created_at) * 1000;
    const done = batch.completed + batch.failed;
    if (elapsedMs <= 0 || done === 0) return false;
    const pending = batch.total - done;
    return (pending / done) * elapsedMs > remainingMs;
  }

  private abort(entry: InFlight, reason: AbortReason): void {
    if (entry.reason !== null) return;
    entry.reason = reason;
    entry.controller.abort(new Error(`batch request ${reason}`));
  }

  private launch(batch: BatchRecord, row: RequestRow, hosted: boolean): void {
    const key = `${row.batch_id}:${row.line}`;
    const controller = new AbortController();
    const requestId = newId('batch_req_');
    const entry: InFlight = {
      batchId: row.batch_id,
      line: row.line,
      model: row.model ?? '',
      hosted,
      controller,
      reason: null,
      settled: Promise.resolve(),
    };
    this.inFlight.set(key, entry);
    this.dispatchedCount++;
    const body = JSON.parse(row.body) as Record<string, unknown>;
    entry.settled = this.deps.dispatcher
      .dispatch(batch.endpoint, body, { priority: 'batch', signal: controller.signal, allowHosted: hosted, requestId })
      .then(
        (result) => {
          if (entry.reason !== null && entry.reason !== 'preempted') return;
          const ok = result.status >= 200 && result.status < 300;
          const outcome: LineOutcome = {
            state: ok ? 'succeeded' : 'failed',
            output: JSON.stringify({
              id: requestId,
              custom_id: row.custom_id,
              response: { status_code: result.status, request_id: requestId, body: result.body },
              error: null,
            }),
            usage: usageOf(result.body),
            ...(result.gpuSeconds !== undefined ? { gpuSeconds: result.gpuSeconds } : {}),
            ...(result.costUsd !== undefined ? { costUsd: result.costUsd } : {}),
            hosted: result.hosted === true,
          };
          this.record(row, outcome);
          if (result.gpuSeconds) this.metrics.gpuSeconds(result.gpuSeconds, entry.model);
        },
        (error: unknown) => {
          if (entry.reason !== null) {
            if (entry.reason === 'preempted') this.metrics.requests('preempted');
            return;
          }
          this.failed(row, requestId, error);
        },
      )
      .catch((error: unknown) => this.deps.onError?.(error))
      .finally(() => {
        this.inFlight.delete(key);
        this.wake();
      });
  }

  private record(row: RequestRow, outcome: LineOutcome): void {
    if (this.closed && !this.deps.store.db.open) return;
    if (this.deps.store.finishRequest(row.batch_id, row.line, outcome)) {
      this.metrics.requests(outcome.state === 'succeeded' ? 'succeeded' : 'failed');
    }
  }

  private failed(row: RequestRow, requestId: string, error: unknown): void {
    const { config, clock, store } = this.deps;
    const failure = describeFailure(error);
    const attempt = row.attempts + 1;
    if (failure.retryable && attempt < config.retries.maxAttempts) {
      const delay =
        Math.min(config.retries.maxDelayMs, config.retries.initialDelayMs * 2 ** (attempt - 1)) *
        (1 - 0.25 * this.random());
      const wait = Math.max(delay, failure.retryAfterMs ?? 0);
      if (!store.db.open) return;
      store.deferRequest(row.batch_id, row.line, clock() + wait);
      this.metrics.requests('retried');
      return;
    }
    const output =
      failure.status === null
        ? {
            id: requestId,
            custom_id: row.custom_id,
            response: null,
            error: { code: failure.code, message: failure.message },
          }
        : {
            id: requestId,
            custom_id: row.custom_id,
            response: { status_code: failure.status, request_id: requestId, body: failure.body },
            error: null,
          };
    this.record(row, { state: 'failed', output: JSON.stringify(output) });
  }
}

interface Failure {
  retryable: boolean;
  retryAfterMs: number | null;
  status: number | null;
  code: string;
  message: string;
  body: unknown;
}

function describeFailure(error: unknown): Failure {
  if (error instanceof SwitchyardError) {
    const rendered = renderError(error);
    const retryAfter = (error as { retryAfterMs?: unknown }).retryAfterMs;
    return {
      retryable: error.retryable,
      retryAfterMs: typeof retryAfter === 'number' ? retryAfter : null,
      status: error.status,
      code: error.code ?? error.type,
      message: error.message,
      body: rendered.body,
    };
  }
  const record = (error && typeof error === 'object' ? error : {}) as Record<string, unknown>;
  const status = typeof record['status'] === 'number' ? record['status'] : null;
  const message = error instanceof Error ? error.message : String(error);
  return {
    retryable: record['retryable'] === true,
    retryAfterMs: typeof record['retryAfterMs'] === 'number' ? record['retryAfterMs'] : null,
    status,
    code: typeof record['code'] === 'string' ? record['code'] : 'request_failed',
    message,
    body:
      record['body'] ??
      renderError(new UpstreamError(message, status ?? 0, record['retryable'] === true, { publicMessage: message }))
        .body,
  };
}

function usageOf(body: unknown): { input: number; output: number; cached: number } {
  const usage = (body as { usage?: Record<string, unknown> } | null)?.usage;
  if (!usage || typeof usage !== 'object') return { input: 0, output: 0, cached: 0 };
  const number = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
  const details = usage['prompt_tokens_details'] as Record<string, unknown> | null | undefined;
  return {
    input: number(usage['prompt_tokens']),
    output: number(usage['completion_tokens']),
    cached: number(details?.['cached_tokens']),
  };
}
