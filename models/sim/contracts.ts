// The engine contract (types only): what the HTTP layer needs from an engine. Two implementations: SimEngine
// (continuous batching, vLLM profile) and HostedEngine (fixed latency, hosted profile); engine-contract.test.ts runs
// the same conformance suite against both.
import type { Clock } from './clock.ts';
import type { StepShape } from '../step-time.ts';

export interface EngineRequestInput {
  id: string;
  promptTokens: readonly number[];
  /** Exactly how many tokens to generate (the server decided: max_tokens, stop, EOS). */
  outputTokens: number;
  /** Hash salt: requests only share prefix blocks with the same salt (vLLM's cache_salt). */
  cacheSalt?: string;
  /** LoRA adapter the request runs with (a registered adapter name); absent = the base model. */
  lora?: string;
}

export type FinishCause = 'completed' | 'aborted';

export interface RequestTimings {
  promptTokens: number;
  outputTokens: number;
  cachedPromptTokens: number;
  arrivalMs: number;
  firstScheduledMs: number | undefined;
  firstTokenMs: number | undefined;
  finishedMs: number;
  preemptions: number;
}

export interface RequestEvents {
  /** Token `index` (0-based) was sampled at simulated time `atMs`. */
  onToken(index: number, atMs: number): void;
  onFinish(cause: FinishCause, timings: RequestTimings): void;
}

/** Notified of what the engine did, for metrics. */
export interface EngineObserver {
  onStep?(info: { shape: StepShape; scheduledTokens: number; durationMs: number; startMs: number }): void;
  onToken?(info: { index: number; atMs: number; previousMs: number; arrivalMs: number }): void;
  onPromptDone?(info: { promptTokens: number; cachedTokens: number }): void;
  onFinish?(info: { cause: FinishCause; timings: RequestTimings }): void;
  onPreempt?(): void;
  onPrefixQuery?(info: { queriedTokens: number; hitTokens: number }): void;
}

export interface EngineStats {
  running: number;
  waiting: number;
  totalBlocks: number;
  usedBlocks: number;
  kvUsage: number;
  preemptions: number;
  prefixQueryTokens: number;
  prefixHitTokens: number;
  promptTokens: number;
  generationTokens: number;
  requestsFinished: number;
  requestsAborted: number;
  steps: number;
  busyMs: number;
  /** Largest delay between when a step should have started and when the host got to it, simulated ms. */
  maxLagMs: number;
  /** Sum of those delays over all steps (÷ steps = mean lag). */
  lagMs: number;
  nowMs: number;
  /** LoRA engines only: adapters with running / waiting requests (request counts), and adapter reads from disk. */
  lora?: { running: Record<string, number>; waiting: Record<string, number>; diskLoads: number };
}

export interface RequestHandle {
  abort(): void;
  /** Simulated time the engine stamped as the request's arrival. */
  readonly arrivalMs: number;
}

/** What the server needs from an engine: the batching engine (vLLM profile) or the fixed-latency one (hosted). */
export interface GenerationEngine {
  submit(input: EngineRequestInput, events: RequestEvents): RequestHandle;
  stats(): EngineStats;
  addObserver(observer: EngineObserver): void;
  shutdown(): void;
  readonly clock: Clock;
}
