// The hosted profile's engine: OpenAI's API seen from outside — a fixed time to first token (plus a little per
// prompt token) and a fixed time per output token, with no capacity limit and no batching effects.
import type { Clock, TimerHandle } from './clock.ts';
import { safely } from './engine.ts';
import type {
  EngineObserver,
  EngineRequestInput,
  EngineStats,
  FinishCause,
  GenerationEngine,
  RequestEvents,
  RequestHandle,
  RequestTimings,
} from './contracts.ts';

export interface HostedLatency {
  ttftMs: number;
  msPerToken: number;
  /** Extra TTFT per prompt token (prefill on a big shared fleet is fast but not free). */
  msPerPromptToken: number;
}

export const DEFAULT_HOSTED_LATENCY: HostedLatency = { ttftMs: 300, msPerToken: 12, msPerPromptToken: 0.02 };

export class HostedEngine implements GenerationEngine {
  readonly clock: Clock;
  private readonly latency: HostedLatency;
  private readonly observers: EngineObserver[] = [];
  private readonly active = new Set<() => void>();
  private counters = { promptTokens: 0, generationTokens: 0, requestsFinished: 0, requestsAborted: 0 };

  constructor(clock: Clock, latency: HostedLatency = DEFAULT_HOSTED_LATENCY) {
    this.clock = clock;
    this.latency = latency;
  }

  addObserver(observer: EngineObserver): void {
    this.observers.push(observer);
  }

  submit(input: EngineRequestInput, events: RequestEvents): RequestHandle {
    const arrivalMs = this.clock.now();
    const promptTokens = input.promptTokens.length;
    let generated = 0;
    let firstTokenMs: number | undefined;
    let lastMs = arrivalMs;
    let timer: TimerHandle | undefined;
    let done = false;

    const finish = (cause: FinishCause): void => {
      if (done) return;
      done = true;
      timer?.cancel();
      this.active.delete(abort);
      if (cause === 'completed') this.counters.requestsFinished++;
      else this.counters.requestsAborted++;
      const timings: RequestTimings = {
        promptTokens,
        outputTokens: generated,
        cachedPromptTokens: 0,
        arrivalMs,
        firstScheduledMs: arrivalMs,
        firstTokenMs,
        finishedMs: this.clock.now(),
        preemptions: 0,
      };
      for (const observer of this.observers) observer.onFinish?.({ cause, timings });
      safely(() => events.onFinish(cause, timings));
    };
    const abort = (): void => finish('aborted');

    const emit = (): void => {
      timer = undefined;
      if (done) return;
      if (generated >= input.outputTokens) {
        finish('completed');
        return;
      }
      const atMs = this.clock.now();
      if (generated === 0) {
        firstTokenMs = atMs;
        this.counters.promptTokens += promptTokens;
        for (const observer of this.observers) observer.onPromptDone?.({ promptTokens, cachedTokens: 0 });
      }
      const index = generated++;
      this.counters.generationTokens++;
      for (const observer of this.observers) observer.onToken?.({ index, atMs, previousMs: lastMs, arrivalMs });
      lastMs = atMs;
      safely(() => events.onToken(index, atMs));
      if (generated >= input.outputTokens) finish('completed');
      else timer = this.clock.setTimer(this.latency.msPerToken, emit);
    };

    this.active.add(abort);
    const ttft = this.latency.ttftMs + promptTokens * this.latency.msPerPromptToken;
    timer = this.clock.setTimer(ttft, input.outputTokens === 0 ? () => finish('completed') : emit);
    return { abort, arrivalMs };
  }

  stats(): EngineStats {
    return {
      running: this.active.size,
      waiting: 0,
      totalBlocks: 0,
      usedBlocks: 0,
      kvUsage: 0,
      preemptions: 0,
      prefixQueryTokens: 0,
      prefixHitTokens: 0,
      ...this.counters,
      steps: 0,
      busyMs: 0,
      maxLagMs: 0,
      lagMs: 0,
      nowMs: this.clock.now(),
    };
  }

  shutdown(): void {
    for (const abort of [...this.active]) abort();
  }
}
