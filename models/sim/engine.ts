// The simulated vLLM engine: a continuous-batching scheduler in the shape of vLLM v1's. Every step it
//   1. gives each running request its next tokens (1 for decode, a chunk for an unfinished prefill) within the token
//      budget `maxNumBatchedTokens`, allocating KV blocks as they fill; when no block is free it preempts the newest
//      running request (recompute: its blocks are freed and it goes back to the head of the queue);
//   2. admits waiting requests (FCFS) while fewer than `maxNumSeqs` run, budget remains and their blocks fit, reusing
//      cached prefix blocks (chained block hashes) and chunking long prompts;
//   3. takes `stepTime.stepMs(shape)` of simulated time for exactly that batch, then samples one token for every
//      request whose computed tokens caught up with its sequence.
// So TTFT, inter-token latency, queueing and KV pressure all emerge from load rather than from a sleep.
import type { Clock, TimerHandle } from './clock.ts';
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
import type { StepShape, StepTimeModel } from '../step-time.ts';
import { KV_BLOCK_TOKENS } from '../sizing.ts';
import { type KvBlock, KvCacheManager, blockHashes } from './kv-cache.ts';
import type { LoraManager } from './lora.ts';

export type * from './contracts.ts';

export interface EngineConfig {
  clock: Clock;
  stepTime: StepTimeModel;
  totalBlocks: number;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  enablePrefixCaching?: boolean;
  /** LoRA serving (`--enable-lora`): adapter slots per step and the adapter costs. */
  lora?: LoraManager;
}

interface SequenceState {
  input: EngineRequestInput;
  events: RequestEvents;
  promptLength: number;
  hashes: string[];
  blocks: KvBlock[];
  /** Tokens whose KV is in the cache. */
  computed: number;
  generated: number;
  cachedPromptTokens: number;
  promptCounted: boolean;
  arrivalMs: number;
  firstScheduledMs: number | undefined;
  firstTokenMs: number | undefined;
  lastTokenMs: number;
  preemptions: number;
  finished: boolean;
}

interface ScheduledWork {
  sequence: SequenceState;
  tokens: number;
}

export class SimEngine implements GenerationEngine {
  private readonly config: Required<Omit<EngineConfig, 'lora'>> & Pick<EngineConfig, 'lora'>;
  readonly kv: KvCacheManager;
  private readonly waiting: SequenceState[] = [];
  private running: SequenceState[] = [];
  private readonly observers: EngineObserver[] = [];
  private timer: TimerHandle | undefined;
  /** Simulated time at which the step in flight ends (or the last one ended). */
  private engineTime = 0;
  private stepping = false;
  /** How far simulated engine time fell behind the clock (the host could not keep up with `speed`). */
  private maxLagMs = 0;
  private counters = {
    preemptions: 0,
    prefixQueryTokens: 0,
    prefixHitTokens: 0,
    promptTokens: 0,
    generationTokens: 0,
    requestsFinished: 0,
    requestsAborted: 0,
    steps: 0,
    busyMs: 0,
    lagMs: 0,
  };

  /** Simulated time until which the engine is busy with something other than a step (an adapter read from disk). */
  private stalledUntil = 0;

  constructor(config: EngineConfig) {
    this.config = { enablePrefixCaching: true, ...config };
    if (config.maxNumSeqs < 1 || config.maxNumBatchedTokens < 1)
      throw new Error('maxNumSeqs and maxNumBatchedTokens must be ≥ 1');
    this.kv = new KvCacheManager(config.totalBlocks, this.config.enablePrefixCaching);
  }

  get clock(): Clock {
    return this.config.clock;
  }

  /** Longest sequence (prompt + output) the cache could ever hold. */
  get capacityTokens(): number {
    return this.config.totalBlocks * KV_BLOCK_TOKENS;
  }

  addObserver(observer: EngineObserver): void {
    this.observers.push(observer);
  }

  submit(input: EngineRequestInput, events: RequestEvents): RequestHandle {
    const total = input.promptTokens.length + input.outputTokens;
    if (input.promptTokens.length === 0) throw new Error('a request needs at least one prompt token');
    if (total > this.capacityTokens) {
      throw new Error(`request needs ${total} tokens of KV cache but the cache holds ${this.capacityTokens}`);
    }
    const now = this.arrivalTime();
    const sequence: SequenceState = {
      input,
      events,
      promptLength: input.promptTokens.length,
      hashes: this.config.enablePrefixCaching ? blockHashes(input.promptTokens, input.cacheSalt) : [],
      blocks: [],
      computed: 0,
      generated: 0,
      cachedPromptTokens: 0,
      promptCounted: false,
      arrivalMs: now,
      firstScheduledMs: undefined,
      firstTokenMs: undefined,
      lastTokenMs: now,
      preemptions: 0,
      finished: false,
    };
    this.waiting.push(sequence);
    this.wake(false, now);
    return { abort: () => this.abort(sequence), arrivalMs: now };
  }

  /**
   * When the host runs behind `speed` (a step in flight should already have ended), a new request is stamped at the
   * end of that step: clients react to events the engine emitted late, so their reactions belong to the engine's
   * timeline, not to the wall clock. Otherwise arrivals are the clock's now.
   */
  private arrivalTime(): number {
    const now = this.config.clock.now();
    return this.stepping ? Math.min(now, this.engineTime) : now;
  }

  /**
   * Stall the engine for `ms` simulated ms after the step in flight (vLLM reads an adapter from disk between steps:
   * nothing else runs meanwhile). Returns the simulated time the stall ends.
   */
  stall(ms: number): number {
    const start = Math.max(this.config.clock.now(), this.engineTime, this.stalledUntil);
    this.stalledUntil = start + ms;
    return this.stalledUntil;
  }

  stats(): EngineStats {
    const lora = this.config.lora ? this.loraStats(this.config.lora) : undefined;
    return {
      ...(lora ? { lora } : {}),
      running: this.running.length,
      waiting: this.waiting.length,
      totalBlocks: this.kv.totalBlocks,
      usedBlocks: this.kv.usedBlocks,
      kvUsage: this.kv.usage,
      ...this.counters,
      maxLagMs: this.maxLagMs,
      nowMs: this.config.clock.now(),
    };
  }

  private loraStats(manager: LoraManager): NonNullable<EngineStats['lora']> {
    const count = (sequences: readonly SequenceState[]): Record<string, number> => {
      const counts: Record<string, number> = {};
      for (const { input } of sequences)
        if (input.lora !== undefined) counts[input.lora] = (counts[input.lora] ?? 0) + 1;
      return counts;
    };
    return { running: count(this.running), waiting: count(this.waiting), diskLoads: manager.diskLoads };
  }

  /** Stop stepping; in-flight requests are aborted. */
  shutdown(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.stepping = false;
    for (const sequence of [...this.running, ...this.waiting]) this.abort(sequence);
  }

  private abort(sequence: SequenceState): void {
    if (sequence.finished) return;
    sequence.finished = true;
    this.running = this.running.filter((other) => other !== sequence);
    const waitingIndex = this.waiting.indexOf(sequence);
    if (waitingIndex >= 0) this.waiting.splice(waitingIndex, 1);
    this.kv.release(sequence.blocks);
    sequence.blocks = [];
    this.counters.requestsAborted++;
    this.finish(sequence, 'aborted', this.config.clock.now());
  }

  /**
   * Start a step if none is in flight and there is work; an empty engine sets no timer at all. Back-to-back steps
   * start exactly where the previous one ended (`continuing`), so simulated time stays exact even when real timers
   * fire late; an idle engine woken by an arrival starts at that arrival (the host's own CPU time in between — prompt
   * hashing under load, say — is not simulated time).
   */
  private wake(continuing = false, arrivalMs?: number): void {
    if (this.stepping) return;
    if (this.running.length === 0 && this.waiting.length === 0) return;
    const now = this.config.clock.now();
    let start = Math.max(continuing ? this.engineTime : Math.max(this.engineTime, arrivalMs ?? now), this.stalledUntil);
    let work = this.schedule(start);
    if (work.length === 0) {
      // Only requests that arrive after `start` are left (the engine runs behind real time): idle until the first.
      const head = this.waiting[0];
      if (!head || head.arrivalMs <= start) return;
      start = head.arrivalMs;
      work = this.schedule(start);
      if (work.length === 0) return;
    }
    const shape = stepShape(work);
    const lora = this.config.lora;
    const durationMs = this.config.stepTime.stepMs(shape) + (lora ? lora.stepExtraMs(adaptersOf(work)) : 0);
    const scheduledTokens = work.reduce((sum, item) => sum + item.tokens, 0);
    this.stepping = true;
    this.engineTime = start + durationMs;
    this.counters.steps++;
    this.counters.busyMs += durationMs;
    this.maxLagMs = Math.max(this.maxLagMs, now - start);
    this.counters.lagMs += Math.max(0, now - start);
    for (const observer of this.observers) observer.onStep?.({ shape, scheduledTokens, durationMs, startMs: start });
    this.timer = this.config.clock.setTimer(this.engineTime - now, () => {
      this.timer = undefined;
      this.stepping = false;
      this.complete(work, this.engineTime);
      this.wake(true);
    });
  }

  /**
   * Decide the batch of a step starting at `startMs`: running requests first (preempting when blocks run out), then
   * admissions of requests that had arrived by `startMs`.
   */
  private schedule(startMs: number): ScheduledWork[] {
    const work: ScheduledWork[] = [];
    let budget = this.config.maxNumBatchedTokens;
    let preempted = false;
    const scheduled = new Set<SequenceState>();

    for (let index = 0; index < this.running.length && budget > 0;) {
      const sequence = this.running[index];
      if (!sequence) break;
      const pending = sequence.promptLength + sequence.generated - sequence.computed;
      const tokens = Math.min(pending, budget);
      if (tokens <= 0) {
        index++;
        continue;
      }
      let allocated = this.ensureBlocks(sequence, sequence.computed + tokens);
      while (!allocated) {
        // Recompute preemption of the lowest-priority (newest) running request, as vLLM v1 does.
        const victim = this.running[this.running.length - 1];
        if (!victim) break;
        this.preempt(victim);
        preempted = true;
        if (victim === sequence) break;
        allocated = this.ensureBlocks(sequence, sequence.computed + tokens);
      }
      if (!allocated) break;
      work.push({ sequence, tokens });
      scheduled.add(sequence);
      budget -= tokens;
      index++;
    }

    // With LoRA, a waiting request whose adapter would exceed max_loras in this step is skipped (it keeps its place),
    // as vLLM v1's scheduler does; the adapters of running requests count first.
    const lora = this.config.lora;
    const inStep = lora ? adaptersOf(work) : undefined;
    for (
      let index = 0;
      !preempted && budget > 0 && this.running.length < this.config.maxNumSeqs && index < this.waiting.length;
    ) {
      const sequence = this.waiting[index];
      if (!sequence || sequence.arrivalMs > startMs) break;
      if (lora && inStep && !lora.fits(inStep, sequence.input.lora)) {
        index++;
        continue;
      }
      const admitted = this.admit(sequence, budget, startMs);
      if (!admitted) break;
      this.waiting.splice(index, 1);
      this.running.push(sequence);
      work.push({ sequence, tokens: admitted });
      if (inStep && sequence.input.lora !== undefined) inStep.add(sequence.input.lora);
      budget -= admitted;
    }
    return work;
  }

  /** Try to start a waiting request with up to `budget` tokens; returns the tokens scheduled (0 = cannot fit). */
  private admit(sequence: SequenceState, budget: number, startMs: number): number {
    const total = sequence.promptLength + sequence.generated;
    let cached: KvBlock[] = [];
    if (sequence.computed === 0 && sequence.blocks.length === 0) {
      cached = this.kv.findCachedPrefix(sequence.hashes);
      // At least one token must be computed to produce logits.
      if (cached.length * KV_BLOCK_TOKENS >= total) cached = cached.slice(0, cached.length - 1);
    }
    const cachedTokens = cached.length * KV_BLOCK_TOKENS;
    const tokens = Math.min(total - cachedTokens, budget);
    const blocksNeeded = Math.ceil((cachedTokens + tokens) / KV_BLOCK_TOKENS) - cached.length;
    if (blocksNeeded > this.kv.freeBlocks - this.kv.idleAmong(cached)) return 0;
    this.kv.acquire(cached);
    const fresh = this.kv.allocate(blocksNeeded);
    if (!fresh) {
      this.kv.release(cached);
      return 0;
    }
    sequence.blocks = [...cached, ...fresh];
    sequence.computed = cachedTokens;
    const queried = sequence.promptLength;
    this.counters.prefixQueryTokens += queried;
    this.counters.prefixHitTokens += cachedTokens;
    for (const observer of this.observers)
      observer.onPrefixQuery?.({ queriedTokens: queried, hitTokens: cachedTokens });
    if (sequence.firstScheduledMs === undefined) {
      sequence.firstScheduledMs = startMs;
      sequence.cachedPromptTokens = Math.min(cachedTokens, sequence.promptLength);
    }
    return tokens;
  }

  private ensureBlocks(sequence: SequenceState, tokens: number): boolean {
    const needed = Math.ceil(tokens / KV_BLOCK_TOKENS) - sequence.blocks.length;
    if (needed <= 0) return true;
    const fresh = this.kv.allocate(needed);
    if (!fresh) return false;
    for (const block of fresh) sequence.blocks.push(block); // a long prompt's blocks overflow a spread's argument limit
    return true;
  }

  private preempt(sequence: SequenceState): void {
    this.running = this.running.filter((other) => other !== sequence);
    this.kv.release(sequence.blocks);
    sequence.blocks = [];
    sequence.computed = 0;
    sequence.preemptions++;
    this.waiting.unshift(sequence);
    this.counters.preemptions++;
    for (const observer of this.observers) observer.onPreempt?.();
  }

  /** The step ended at `atMs`: advance computed tokens, register full prompt blocks, sample tokens, finish. */
  private complete(work: readonly ScheduledWork[], atMs: number): void {
    for (const { sequence, tokens } of work) {
      if (sequence.finished || !this.running.includes(sequence)) continue;
      sequence.computed += tokens;
      this.registerFullBlocks(sequence);
      const total = sequence.promptLength + sequence.generated;
      if (sequence.computed < total) continue;
      if (!sequence.promptCounted) {
        sequence.promptCounted = true;
        this.counters.promptTokens += sequence.promptLength;
        for (const observer of this.observers) {
          observer.onPromptDone?.({ promptTokens: sequence.promptLength, cachedTokens: sequence.cachedPromptTokens });
        }
      }
      if (sequence.generated < sequence.input.outputTokens) {
        const index = sequence.generated;
        sequence.generated++;
        this.counters.generationTokens++;
        const previousMs = sequence.lastTokenMs;
        sequence.lastTokenMs = atMs;
        if (sequence.firstTokenMs === undefined) sequence.firstTokenMs = atMs;
        for (const observer of this.observers) {
          observer.onToken?.({ index, atMs, previousMs, arrivalMs: sequence.arrivalMs });
        }
        safely(() => sequence.events.onToken(index, atMs));
      }
      if (sequence.generated >= sequence.input.outputTokens && !sequence.finished) {
        sequence.finished = true;
        this.running = this.running.filter((other) => other !== sequence);
        this.kv.release(sequence.blocks);
        sequence.blocks = [];
        this.counters.requestsFinished++;
        this.finish(sequence, 'completed', atMs);
      }
    }
  }

  private registerFullBlocks(sequence: SequenceState): void {
    if (!this.config.enablePrefixCaching) return;
    const full = Math.min(
      Math.floor(sequence.computed / KV_BLOCK_TOKENS),
      sequence.hashes.length,
      sequence.blocks.length,
    );
    for (let index = 0; index < full; index++) {
      const block = sequence.blocks[index];
      const hash = sequence.hashes[index];
      if (block && hash !== undefined) this.kv.registerHash(block, hash);
    }
  }

  private finish(sequence: SequenceState, cause: FinishCause, atMs: number): void {
    const timings: RequestTimings = {
      promptTokens: sequence.promptLength,
      outputTokens: sequence.generated,
      cachedPromptTokens: sequence.cachedPromptTokens,
      arrivalMs: sequence.arrivalMs,
      firstScheduledMs: sequence.firstScheduledMs,
      firstTokenMs: sequence.firstTokenMs,
      finishedMs: atMs,
      preemptions: sequence.preemptions,
    };
    for (const observer of this.observers) observer.onFinish?.({ cause, timings });
    safely(() => sequence.events.onFinish(cause, timings));
  }
}

/** A listener's exception must never stop the step loop (every other request would stall). */
export function safely(callback: () => void): void {
  try {
    callback();
  } catch (error) {
    console.error('simulator: a request listener threw; the engine carries on:', error);
  }
}

function adaptersOf(work: readonly ScheduledWork[]): Set<string> {
  const adapters = new Set<string>();
  for (const { sequence } of work) if (sequence.input.lora !== undefined) adapters.add(sequence.input.lora);
  return adapters;
}

function stepShape(work: readonly ScheduledWork[]): StepShape {
  let decodeSequences = 0;
  let decodeContextTokens = 0;
  const prefills: { tokens: number; cachedTokens: number }[] = [];
  for (const { sequence, tokens } of work) {
    const isDecode = tokens === 1 && sequence.computed >= sequence.promptLength;
    if (isDecode) {
      decodeSequences++;
      decodeContextTokens += sequence.computed;
    } else {
      prefills.push({ tokens, cachedTokens: sequence.computed });
    }
  }
  return { decodeSequences, decodeContextTokens, prefills };
}
