// Virtual-time mode of benchmarks/routing-quality.ts: the router's own runtime (createRouterRuntime: backend
// registry, circuit breakers, metrics scraper and parser, scheduler, route planner, Dispatcher with its lease /
// release bookkeeping, SLO spill and saturated fallback) in front of models/sim SimEngines. Only I/O is injected:
// the clock (simulated ms), each replica's transport (a ChatBackend that submits to its engine) and the scraper's
// fetch (the engine's gauges as vLLM exposition text) and timers. Each request goes in as the chat route hands it to
// the dispatcher (prompt features, route plan, DispatchInput) and its stream is drained before the lease is
// finished, as the SSE relay does. Deterministic, and immune to machine load.
import { getModel } from '../models/catalog/models.ts';
import { GPUS } from '../models/catalog/gpus.ts';
import { createStepTimeModel } from '../models/step-time.ts';
import { SimEngine, chatPromptTokens, type Clock } from '../models/sim/index.ts';
import type { BackendRequest, ChatBackend, StreamChunk } from '../router/backends/contracts.ts';
import { validateConfig } from '../router/config/load.ts';
import { UpstreamError } from '../core/errors.ts';
import { Cancellation } from '../router/resilience/cancellation.ts';
import type { DispatchInput } from '../router/routing/dispatcher.ts';
import { chatPromptFeatures } from '../router/routing/prompt.ts';
import { createRequestTimer } from '../router/routing/upstream-body.ts';
import { createRouterRuntime } from '../router/runtime/runtime.ts';
import type { ChatMessage } from '../core/openai-schemas.ts';
import type { SchedulingProfileConfig } from '../router/scheduling/index.ts';
import { seededRandom } from '../models/random.ts';
import type { Outcome, WorkItem } from './routing-quality-workload.ts';

interface Timer {
  at: number;
  order: number;
  callback: () => void;
  cancelled: boolean;
}

/**
 * Simulated time for code that awaits: timers fire in time order, and after each one every promise it settled runs
 * to completion (a macrotask turn) before the clock moves on — the dispatcher's awaits happen "instantly".
 */
export class EventLoopClock implements Clock {
  readonly speed = Number.POSITIVE_INFINITY;
  private current = 0;
  private order = 0;
  private readonly heap: Timer[] = [];

  now(): number {
    return this.current;
  }

  setTimer(delayMs: number, callback: () => void): { cancel(): void } {
    const timer: Timer = { at: this.current + Math.max(0, delayMs), order: this.order++, callback, cancelled: false };
    this.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  /** Runs until no timer is left (or `maxTimers` fired). */
  async run(maxTimers = 50_000_000): Promise<void> {
    for (let fired = 0; fired < maxTimers; fired++) {
      const next = this.pop();
      if (!next) return;
      if (next.cancelled) continue;
      this.current = Math.max(this.current, next.at);
      next.callback();
      await new Promise((resolve) => setImmediate(resolve));
    }
    throw new Error(`EventLoopClock.run: more than ${maxTimers} timers fired`);
  }

  private before(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.order < b.order);
  }

  private push(timer: Timer): void {
    const heap = this.heap;
    heap.push(timer);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.before(heap[index]!, heap[parent]!)) break;
      [heap[index], heap[parent]] = [heap[parent]!, heap[index]!];
      index = parent;
    }
  }

  private pop(): Timer | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let index = 0;
      for (;;) {
        const left = index * 2 + 1;
        const right = left + 1;
        let smallest = index;
        if (left < heap.length && this.before(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && this.before(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === index) break;
        [heap[index], heap[smallest]] = [heap[smallest]!, heap[index]!];
        index = smallest;
      }
    }
    return top;
  }
}

/** A stream that yields one chunk at the engine's first token and ends when the engine finishes the request. */
class EngineStream implements AsyncIterableIterator<StreamChunk> {
  private firstSent = false;
  private tokenArrived = false;
  private ended: 'completed' | 'aborted' | undefined;
  private waiting:
    { resolve: (result: IteratorResult<StreamChunk>) => void; reject: (error: Error) => void } | undefined;

  firstToken(): void {
    this.tokenArrived = true;
    this.wake();
  }

  finish(cause: 'completed' | 'aborted'): void {
    this.ended = cause;
    this.wake();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<StreamChunk>> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.wake();
    });
  }

  async return(): Promise<IteratorResult<StreamChunk>> {
    this.ended ??= 'aborted';
    return { done: true, value: undefined };
  }

  private wake(): void {
    const waiting = this.waiting;
    if (!waiting) return;
    if (this.tokenArrived && !this.firstSent) {
      this.firstSent = true;
      this.waiting = undefined;
      waiting.resolve({
        done: false,
        value: { choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null }] },
      });
    } else if (this.ended === 'completed') {
      this.waiting = undefined;
      waiting.resolve({ done: true, value: undefined });
    } else if (this.ended === 'aborted') {
      this.waiting = undefined;
      waiting.reject(new UpstreamError('engine aborted the request', 503, true));
    }
  }
}

/** The transport to one simulated replica: what `createVllmBackend` is over HTTP, here a call into its engine. */
function engineBackend(id: string, engine: SimEngine): ChatBackend {
  let counter = 0;
  return {
    id,
    kind: 'vllm',
    url: `http://${id}.sim/v1`,
    async send(request: BackendRequest) {
      const messages = request.body['messages'] as Parameters<typeof chatPromptTokens>[0];
      const stream = new EngineStream();
      engine.submit(
        {
          id: `${id}-${counter++}`,
          promptTokens: chatPromptTokens(messages),
          outputTokens: Number(request.body['max_tokens']),
        },
        {
          onToken: (index) => {
            if (index === 0) stream.firstToken();
          },
          onFinish: (cause) => stream.finish(cause),
        },
      );
      return { streamed: true, chunks: stream };
    },
    async close() {},
  };
}

/** An engine's gauges as vLLM ≥ 0.10 exposes them (what the router's parser reads). */
function exposition(engine: SimEngine): string {
  const stats = engine.stats();
  return [
    `vllm:num_requests_running{engine="0",model_name="sim"} ${stats.running}`,
    `vllm:num_requests_waiting{engine="0",model_name="sim"} ${stats.waiting}`,
    `vllm:kv_cache_usage_perc{engine="0",model_name="sim"} ${stats.kvUsage}`,
    `vllm:prefix_cache_queries_total{engine="0",model_name="sim"} ${stats.prefixQueryTokens}`,
    `vllm:prefix_cache_hits_total{engine="0",model_name="sim"} ${stats.prefixHitTokens}`,
    '',
  ].join('\n');
}

export interface VirtualRunOptions {
  model: string;
  replicas: number;
  kvBlocks: number;
  profile: SchedulingProfileConfig;
  seed: number;
}

export interface VirtualRun {
  outcomes: Outcome[];
  cache: { queries: number; hits: number; preemptions: number };
}

/** Replays `workload` through the router's runtime over `replicas` simulated engines on one virtual clock. */
export async function runThroughRouter(options: VirtualRunOptions, workload: readonly WorkItem[]): Promise<VirtualRun> {
  const clock = new EventLoopClock();
  const stepTime = createStepTimeModel({
    model: getModel(options.model),
    gpu: GPUS.h100,
    tensorParallel: 1,
    dtype: 'bf16',
  });
  const ids = Array.from({ length: options.replicas }, (_, index) => `replica-${index}`);
  const engines = new Map(
    ids.map((id) => [
      id,
      new SimEngine({ clock, stepTime, totalBlocks: options.kvBlocks, maxNumSeqs: 256, maxNumBatchedTokens: 8_192 }),
    ]),
  );
  const config = validateConfig(
    {
      pools: [
        {
          name: 'pool',
          kind: 'vllm',
          model: options.model,
          gpu: 'h100',
          backends: ids.map((id) => ({ id, url: `http://${id}.sim/v1` })),
        },
      ],
      models: [{ name: options.model, route: ['pool'] }],
      scheduling: options.profile,
    },
    '(routing-quality)',
    {},
  );
  const runtime = await createRouterRuntime(config, {
    clock: () => clock.now(),
    random: seededRandom(options.seed),
    processMetrics: false,
    vllmBackend: ({ id }) => engineBackend(id, engines.get(id)!),
    scrape: {
      timers: clock,
      fetch: async (url) => {
        const engine = engines.get(new URL(url).hostname.replace(/\.sim$/, ''))!;
        return { ok: true, status: 200, text: async () => exposition(engine) };
      },
    },
  });
  const blockTokens = config.scheduling.prefixBlockTokens;
  const outcomes: Outcome[] = [];
  let outstanding = 0;

  const serve = async (item: WorkItem, index: number): Promise<void> => {
    const arrival = clock.now();
    const messages = item.messages as unknown as ChatMessage[];
    const body = { model: options.model, messages, max_tokens: item.maxTokens, stream: true };
    const features = chatPromptFeatures(messages, undefined, blockTokens);
    const plan = runtime.planner.plan(options.model, body as Parameters<typeof runtime.planner.plan>[1]);
    const input: DispatchInput = {
      endpoint: 'chat',
      body,
      plan,
      scheduling: {
        requestId: `req-${index}`,
        promptTokens: features.promptTokens,
        prefixBlockHashes: features.prefixBlockHashes,
        ...(item.sessionKey ? { sessionKey: item.sessionKey } : {}),
      },
      requestId: `req-${index}`,
      signal: new Cancellation(),
      timer: createRequestTimer(),
    };
    try {
      const result = await runtime.dispatcher.dispatch(input);
      const ttftMs = clock.now() - arrival;
      if (result.streamed) while (!(await result.rest.next()).done);
      result.lease.finish('success');
      const backend = result.lease.entry.state.id;
      outcomes.push({
        ok: true,
        ttftMs,
        itlMaxMs: NaN,
        finishedAtMs: clock.now(),
        item,
        backend,
        route: result.lease.reasons.join(','),
      });
    } catch {
      outcomes.push({
        ok: false,
        ttftMs: NaN,
        itlMaxMs: NaN,
        finishedAtMs: clock.now(),
        item,
        backend: '',
        route: 'error',
      });
    } finally {
      outstanding--;
    }
  };

  let next = 0;
  const arrive = (): void => {
    outstanding++;
    void serve(workload[next]!, next);
    next++;
    if (next < workload.length) clock.setTimer(workload[next]!.arrivalMs - clock.now(), arrive);
  };
  if (workload.length > 0) clock.setTimer(workload[0]!.arrivalMs, arrive);
  // The scraper re-arms its timer forever: stop it once every request has finished.
  const stopWhenDone = (): void => {
    if (next >= workload.length && outstanding === 0) runtime.scraper.stop();
    else clock.setTimer(100, stopWhenDone);
  };
  clock.setTimer(100, stopWhenDone);
  await clock.run();
  const stats = [...engines.values()].map((engine) => engine.stats());
  for (const engine of engines.values()) engine.shutdown();
  await runtime.close();
  return {
    outcomes,
    cache: {
      queries: stats.reduce((sum, stat) => sum + stat.prefixQueryTokens, 0),
      hits: stats.reduce((sum, stat) => sum + stat.prefixHitTokens, 0),
      preemptions: stats.reduce((sum, stat) => sum + stat.preemptions, 0),
    },
  };
}
