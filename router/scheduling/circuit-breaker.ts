// Per-backend circuit breaker: closed → (N consecutive failures, or failure rate ≥ r over a window with enough
// requests) → open for a cooldown → half-open, where a limited number of probes decide between closed and open.
// Time is injected so tests run on a virtual clock.
import { z } from 'zod';
import type { CircuitState } from './contracts.ts';

export const CircuitBreakerConfig = z
  .object({
    /** Open after this many failures in a row. */
    consecutiveFailures: z.number().int().min(1).default(5),
    /** Open when the failure share in the window reaches this (with at least minRequests in the window). */
    failureRate: z.number().min(0).max(1).default(0.5),
    minRequests: z.number().int().min(1).default(20),
    windowMs: z.number().int().min(1).default(10_000),
    /** How long to stay open before letting probes through. */
    cooldownMs: z.number().int().min(1).default(5_000),
    /** Concurrent probes allowed while half-open; this many successes in a row close the circuit. */
    halfOpenProbes: z.number().int().min(1).default(1),
  })
  .strict();
export type CircuitBreakerConfig = z.infer<typeof CircuitBreakerConfig>;
export type CircuitBreakerInput = z.input<typeof CircuitBreakerConfig>;

/** Numeric encoding for a gauge (e.g. `switchyard_backend_circuit_state`). */
export const CIRCUIT_STATE_VALUE: Readonly<Record<CircuitState, number>> = { closed: 0, 'half-open': 1, open: 2 };

export interface CircuitBreakerOptions {
  clock?: () => number;
  onStateChange?: (from: CircuitState, to: CircuitState) => void;
}

/** Bucketed sliding window: 10 buckets per window keeps memory constant under any request rate. */
const WINDOW_BUCKETS = 10;

export class CircuitBreaker {
  readonly config: CircuitBreakerConfig;
  private readonly clock: () => number;
  private readonly onStateChange: ((from: CircuitState, to: CircuitState) => void) | undefined;
  private current: CircuitState = 'closed';
  private consecutive = 0;
  private openedAt = 0;
  private probesInFlight = 0;
  private probeSuccesses = 0;
  private readonly bucketMs: number;
  private readonly bucketStart: number[] = new Array<number>(WINDOW_BUCKETS).fill(-Infinity);
  private readonly bucketTotal: number[] = new Array<number>(WINDOW_BUCKETS).fill(0);
  private readonly bucketFailed: number[] = new Array<number>(WINDOW_BUCKETS).fill(0);

  constructor(config: CircuitBreakerInput = {}, options: CircuitBreakerOptions = {}) {
    this.config = CircuitBreakerConfig.parse(config);
    this.clock = options.clock ?? Date.now;
    this.onStateChange = options.onStateChange;
    this.bucketMs = Math.max(1, Math.ceil(this.config.windowMs / WINDOW_BUCKETS));
  }

  /** Current state; an open circuit whose cooldown elapsed reads as half-open. */
  get state(): CircuitState {
    if (this.current === 'open' && this.clock() - this.openedAt >= this.config.cooldownMs) {
      this.transition('half-open');
    }
    return this.current;
  }

  /** The state as a number for a Prometheus gauge: 0 closed, 1 half-open, 2 open. */
  get stateValue(): number {
    return CIRCUIT_STATE_VALUE[this.state];
  }

  /**
   * What the scheduler should see: half-open with every probe slot taken reads as open, so the filter does not
   * pick a backend that would refuse the request anyway.
   */
  get schedulingState(): CircuitState {
    const state = this.state;
    if (state === 'half-open' && this.probesInFlight >= this.config.halfOpenProbes) return 'open';
    return state;
  }

  /** Ask before sending: true when closed, or when half-open and a probe slot is free (it is then taken). */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open') return false;
    if (this.probesInFlight >= this.config.halfOpenProbes) return false;
    this.probesInFlight++;
    return true;
  }

  recordSuccess(): void {
    this.count(false);
    this.consecutive = 0;
    if (this.current === 'half-open') {
      this.probesInFlight = Math.max(0, this.probesInFlight - 1);
      if (++this.probeSuccesses >= this.config.halfOpenProbes) this.transition('closed');
    }
  }

  recordFailure(): void {
    this.count(true);
    this.consecutive++;
    if (this.current === 'half-open') {
      this.probesInFlight = Math.max(0, this.probesInFlight - 1);
      this.trip();
      return;
    }
    if (this.current !== 'closed') return;
    if (this.consecutive >= this.config.consecutiveFailures) {
      this.trip();
      return;
    }
    const { total, failed } = this.windowCounts();
    if (total >= this.config.minRequests && failed / total >= this.config.failureRate) this.trip();
  }

  /** Give back a probe slot taken by tryAcquire when the request was never sent (e.g. client went away). */
  release(): void {
    if (this.current === 'half-open') this.probesInFlight = Math.max(0, this.probesInFlight - 1);
  }

  private trip(): void {
    this.openedAt = this.clock();
    this.transition('open');
  }

  private transition(to: CircuitState): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    this.probesInFlight = 0;
    this.probeSuccesses = 0;
    if (to === 'closed') {
      this.consecutive = 0;
      this.bucketTotal.fill(0);
      this.bucketFailed.fill(0);
    }
    this.onStateChange?.(from, to);
  }

  private count(failed: boolean): void {
    const now = this.clock();
    const start = Math.floor(now / this.bucketMs) * this.bucketMs;
    const slot = Math.floor(now / this.bucketMs) % WINDOW_BUCKETS;
    if (this.bucketStart[slot] !== start) {
      this.bucketStart[slot] = start;
      this.bucketTotal[slot] = 0;
      this.bucketFailed[slot] = 0;
    }
    this.bucketTotal[slot] = (this.bucketTotal[slot] ?? 0) + 1;
    if (failed) this.bucketFailed[slot] = (this.bucketFailed[slot] ?? 0) + 1;
  }

  private windowCounts(): { total: number; failed: number } {
    const oldest = this.clock() - this.config.windowMs;
    let total = 0;
    let failed = 0;
    for (let slot = 0; slot < WINDOW_BUCKETS; slot++) {
      if ((this.bucketStart[slot] ?? -Infinity) + this.bucketMs <= oldest) continue;
      total += this.bucketTotal[slot] ?? 0;
      failed += this.bucketFailed[slot] ?? 0;
    }
    return { total, failed };
  }
}
