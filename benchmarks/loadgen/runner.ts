// Drives load: closed loop (N workers) or open loop (scheduled arrivals), warm-up, sweeps, bounds by count and/or
// duration. Every run stops by itself: no new request after its bound, in-flight ones cancelled after the drain timeout.
import { performance } from 'node:perf_hooks';
import { Agent, type Dispatcher } from 'undici';
import { sendRequest, type SendResult } from './client.ts';
import type { BenchConfig, LoadMode } from './config.ts';
import { summarize, type Summary } from './metrics.ts';
import type { RequestRecord } from './records.ts';
import { createRng } from './rng.ts';
import { createArrivalSchedule, waitUntil } from './arrivals.ts';
import { createWorkload, type PromptSpec, type Workload } from './workloads.ts';

export interface RunResult {
  label: string;
  mode: LoadMode;
  durationS: number;
  records: RequestRecord[];
  summary: Summary;
}

export interface BenchResult {
  version: 1;
  tool: 'switchyard bench';
  createdAt: string;
  config: BenchConfig;
  workload: string;
  runs: RunResult[];
}

export interface RunHooks {
  dispatcher?: Dispatcher;
  now?: () => number;
  /** Called when a run (sweep step) starts, with the number of requests it will send if known. */
  onRunStart?: (label: string, total: number | undefined) => void;
  onRecord?: (record: RequestRecord) => void;
  onRunEnd?: (run: RunResult) => void;
  /** Every parsed SSE chunk with its arrival time (diagnostics; see loadgen-overhead.ts). */
  onChunk?: (chunk: unknown, at: number) => void;
}

export function modeLabel(mode: LoadMode): string {
  return mode.kind === 'closed'
    ? `concurrency ${mode.concurrency}`
    : `${mode.arrival} ${mode.rate} req/s${mode.maxConcurrency ? ` (max ${mode.maxConcurrency} in flight)` : ''}`;
}

/** The modes of a sweep: one per ladder step, or just the configured one. */
export function sweepModes(config: BenchConfig): LoadMode[] {
  if (config.sweep.length === 0) return [config.mode];
  return config.sweep.map((level) =>
    config.mode.kind === 'closed'
      ? { ...config.mode, concurrency: Math.max(1, Math.round(level)) }
      : { ...config.mode, rate: level },
  );
}

class Semaphore {
  private waiting: (() => void)[] = [];
  constructor(private available: number) {}
  async acquire(): Promise<void> {
    if (this.available > 0) {
      this.available -= 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.available += 1;
  }
}

interface LevelContext {
  config: BenchConfig;
  dispatcher: Dispatcher;
  now: () => number;
  cancel: AbortSignal;
  onChunk?: ((chunk: unknown, at: number) => void) | undefined;
}

function send(context: LevelContext, spec: PromptSpec): Promise<SendResult> {
  const { config } = context;
  return sendRequest({
    dispatcher: context.dispatcher,
    baseUrl: config.baseUrl,
    apiKey: config.apiKey,
    model: config.model,
    endpoint: config.endpoint,
    stream: config.stream,
    ignoreEos: config.ignoreEos,
    prompt: spec.prompt,
    maxTokens: spec.maxTokens,
    timeoutMs: config.requestTimeoutS * 1000,
    signal: context.cancel,
    now: context.now,
    onChunk: context.onChunk,
  });
}

function toRecord(
  index: number,
  spec: PromptSpec,
  result: SendResult,
  runStart: number,
  scheduled?: number,
): RequestRecord {
  const record: RequestRecord = {
    index,
    startMs: result.sentAt - runStart,
    success: result.success,
    ttftMs: result.ttftMs,
    itlMs: result.itlMs,
    e2eMs: result.e2eMs,
    promptTokens: result.promptTokens ?? spec.promptTokens,
    outputTokens: result.outputTokens,
    outputTokenSource: result.outputTokenSource,
  };
  if (scheduled !== undefined) record.scheduledMs = scheduled;
  if (result.error) record.error = result.error;
  return record;
}

async function warmUp(context: LevelContext, workload: Workload, count: number, parallel: number): Promise<void> {
  let issued = 0;
  const worker = async () => {
    while (issued < count && !context.cancel.aborted) {
      issued += 1;
      await send(context, workload.next());
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, count)) }, worker));
}

export async function runLevel(
  config: BenchConfig,
  mode: LoadMode,
  hooks: RunHooks & { dispatcher: Dispatcher; now: () => number },
): Promise<RunResult> {
  const { now } = hooks;
  const cancel = new AbortController();
  const context: LevelContext = {
    config,
    dispatcher: hooks.dispatcher,
    now,
    cancel: cancel.signal,
    onChunk: hooks.onChunk,
  };
  // Same seed per level: every sweep step sends the same prompt sequence; arrivals use their own stream.
  const rng = createRng(config.seed);
  const workload = await createWorkload(config.workload, rng.fork());
  const arrivalsRng = rng.fork();
  const label = modeLabel(mode);
  const parallel = mode.kind === 'closed' ? mode.concurrency : (mode.maxConcurrency ?? 8);
  if (config.warmupRequests > 0) await warmUp(context, workload, config.warmupRequests, parallel);

  hooks.onRunStart?.(label, config.requests);
  const records: RequestRecord[] = [];
  const start = now();
  const deadline = config.durationS === undefined ? Number.POSITIVE_INFINITY : start + config.durationS * 1000;
  let drainTimer: NodeJS.Timeout | undefined;
  const boundTimer =
    config.durationS === undefined
      ? undefined
      : setTimeout(() => {
          drainTimer = setTimeout(() => cancel.abort(), config.drainTimeoutS * 1000);
        }, config.durationS * 1000);
  const within = (index: number) => (config.requests === undefined || index < config.requests) && now() < deadline;
  const finish = (record: RequestRecord) => {
    records.push(record);
    hooks.onRecord?.(record);
  };

  try {
    if (mode.kind === 'closed') {
      let issued = 0;
      const worker = async () => {
        while (within(issued)) {
          const index = issued;
          issued += 1;
          const spec = workload.next();
          finish(toRecord(index, spec, await send(context, spec), start));
        }
      };
      await Promise.all(Array.from({ length: mode.concurrency }, worker));
    } else {
      const schedule = createArrivalSchedule(mode.rate, mode.arrival, arrivalsRng);
      const gate = mode.maxConcurrency === undefined ? undefined : new Semaphore(mode.maxConcurrency);
      const inFlight = new Set<Promise<void>>();
      for (let index = 0; within(index); index += 1) {
        const offset = schedule.next();
        if (start + offset >= deadline) break;
        await waitUntil(start + offset, now);
        if (gate) {
          await gate.acquire();
          // Waiting for a free slot may have run past the bound.
          if (now() >= deadline) {
            gate.release();
            break;
          }
        }
        const spec = workload.next();
        const pending = send(context, spec).then((result) => {
          gate?.release();
          finish(toRecord(index, spec, result, start, offset));
        });
        inFlight.add(pending);
        void pending.finally(() => inFlight.delete(pending));
      }
      await Promise.all(inFlight);
    }
  } finally {
    clearTimeout(boundTimer);
    clearTimeout(drainTimer);
  }

  records.sort((a, b) => a.index - b.index);
  // The run lasts until its last non-cancelled request ended (vLLM: until every request returned).
  const ends = records
    .filter((record) => record.error?.type !== 'cancelled')
    .map((record) => record.startMs + record.e2eMs);
  const durationMs = ends.length > 0 ? Math.max(...ends) : now() - start;
  const durationS = Math.max(durationMs, 1e-3) / 1000;
  const run: RunResult = {
    label,
    mode,
    durationS,
    records,
    summary: summarize(records, durationS, config.goodput, config.percentiles),
  };
  hooks.onRunEnd?.(run);
  return run;
}

export async function runBenchmark(config: BenchConfig, hooks: RunHooks = {}): Promise<BenchResult> {
  const ownDispatcher = hooks.dispatcher === undefined;
  // Keep-alive connections, no pipelining (one request per connection at a time, like an HTTP/1.1 client pool).
  const dispatcher =
    hooks.dispatcher ?? new Agent({ keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000, pipelining: 1 });
  const now = hooks.now ?? (() => performance.now());
  try {
    const workload = await createWorkload(config.workload, createRng(config.seed));
    const runs: RunResult[] = [];
    for (const mode of sweepModes(config)) runs.push(await runLevel(config, mode, { ...hooks, dispatcher, now }));
    return {
      version: 1,
      tool: 'switchyard bench',
      createdAt: new Date().toISOString(),
      config,
      workload: workload.description,
      runs,
    };
  } finally {
    if (ownDispatcher) await dispatcher.close();
  }
}
