// Every backend the router can send to, with the state the scheduler sees. BackendState objects are kept and updated
// in place (no allocation per request): router-side in-flight counters change on admit/finish, scraped metrics and
// circuit state are refreshed when a pool's candidates are read.
import type { ChatBackend } from '../backends/contracts.ts';
import {
  CIRCUIT_STATE_VALUE,
  CircuitBreaker,
  type BackendState,
  type CircuitBreakerConfig,
  type MetricsScraper,
} from '../scheduling-facade/index.ts';
import type { PoolConfig } from '../config/schema.ts';
import type { StepTimeModel } from '../../models/step-time.ts';

export interface BackendEntry {
  readonly backend: ChatBackend;
  readonly pool: PoolConfig;
  readonly state: BackendState;
  readonly breaker: CircuitBreaker;
  /** vLLM pools only: predicts prefill and decode step times for the TTFT SLO check. */
  readonly stepModel: StepTimeModel | undefined;
  /** A retry-after from this backend keeps it out of scheduling until then (clock ms). */
  coolingUntil: number;
  /** Being drained (deploy/): no new requests, existing ones finish. */
  draining: boolean;
  /** Model name this replica was launched with, when it differs from the pool's (registered replicas). */
  servedModel: string | undefined;
  /** Clock ms of the last request this backend answered successfully (router-side evidence it is alive). */
  lastSuccessAt: number;
}

export interface BackendRegistryOptions {
  scraper?: MetricsScraper;
  clock?: () => number;
}

export class BackendRegistry {
  private readonly entries: BackendEntry[] = [];
  private readonly byPool = new Map<string, BackendEntry[]>();
  private readonly byId = new Map<string, BackendEntry>();
  private readonly clock: () => number;
  private scraper: MetricsScraper | undefined;
  /** Resolvers waiting for a backend's in-flight count to reach zero (drain). */
  private readonly idleWaiters = new Map<string, Array<() => void>>();
  /** Pools where deploy/ advised spilling requests that would queue (replicas are starting). */
  private readonly preferHosted = new Set<string>();

  constructor(options: BackendRegistryOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.scraper = options.scraper;
  }

  setScraper(scraper: MetricsScraper): void {
    this.scraper = scraper;
  }

  add(
    backend: ChatBackend,
    pool: PoolConfig,
    models: readonly string[],
    breakerConfig: CircuitBreakerConfig,
    stepModel: StepTimeModel | undefined,
    relativeCost: number,
    servedModel?: string,
  ): BackendEntry {
    const entry: BackendEntry = {
      backend,
      pool,
      breaker: new CircuitBreaker(breakerConfig, { clock: this.clock }),
      stepModel,
      coolingUntil: 0,
      draining: false,
      servedModel,
      lastSuccessAt: -Infinity,
      state: {
        id: backend.id,
        pool: pool.name,
        kind: backend.kind,
        url: backend.url,
        models,
        healthy: true,
        circuit: 'closed',
        inFlightRequests: 0,
        inFlightTokens: 0,
        pendingPrefillTokens: 0,
        metricsStale: backend.kind !== 'openai',
        relativeCost,
      },
    };
    this.entries.push(entry);
    this.byId.set(backend.id, entry);
    const list = this.byPool.get(pool.name) ?? [];
    list.push(entry);
    this.byPool.set(pool.name, list);
    return entry;
  }

  /** Forgets a backend (closing it is the caller's choice); anyone waiting for it to go idle is released. */
  remove(id: string): BackendEntry | undefined {
    const entry = this.byId.get(id);
    if (!entry) return undefined;
    this.byId.delete(id);
    this.entries.splice(this.entries.indexOf(entry), 1);
    const list = this.byPool.get(entry.pool.name) ?? [];
    list.splice(list.indexOf(entry), 1);
    this.notifyIdle(id);
    return entry;
  }

  /** Resolves when the backend has no request in flight (or is removed). */
  whenIdle(id: string): Promise<void> {
    const entry = this.byId.get(id);
    if (!entry || entry.state.inFlightRequests === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const waiters = this.idleWaiters.get(id) ?? [];
      waiters.push(resolve);
      this.idleWaiters.set(id, waiters);
    });
  }

  private notifyIdle(id: string): void {
    const waiters = this.idleWaiters.get(id);
    if (!waiters) return;
    this.idleWaiters.delete(id);
    for (const resolve of waiters) resolve();
  }

  setPreferHosted(pool: string, prefer: boolean): void {
    if (prefer) this.preferHosted.add(pool);
    else this.preferHosted.delete(pool);
  }

  prefersHosted(pool: string): boolean {
    return this.preferHosted.has(pool);
  }

  get(id: string): BackendEntry | undefined {
    return this.byId.get(id);
  }

  all(): readonly BackendEntry[] {
    return this.entries;
  }

  /** The pool's entries with freshly refreshed state. */
  pool(name: string): readonly BackendEntry[] {
    const list = this.byPool.get(name) ?? [];
    const now = this.clock();
    for (const entry of list) this.refresh(entry, now);
    return list;
  }

  private refresh(entry: BackendEntry, now: number): void {
    const state = entry.state;
    state.healthy = now >= entry.coolingUntil && !entry.draining;
    state.circuit = entry.breaker.schedulingState;
    if (state.kind !== 'openai' && this.scraper) {
      // Two lookups instead of snapshot(): this runs for every candidate of every request.
      const metrics = this.scraper.latestMetrics(state.id);
      if (metrics) state.metrics = metrics;
      state.metricsStale = this.scraper.isStale(state.id);
    } else if (state.kind === 'openai') {
      state.metricsStale = false;
    }
  }

  admit(entry: BackendEntry, tokens: number): void {
    entry.state.inFlightRequests++;
    entry.state.inFlightTokens += tokens;
    // Traffic changes what the replica reports: scrape it at the base interval while it has some.
    if (entry.state.kind !== 'openai') this.scraper?.noteActivity(entry.state.id);
  }

  /** Prompt tokens admitted to the backend that have not reached their first token yet (prefill backlog). */
  addPendingPrefill(entry: BackendEntry, tokens: number): void {
    entry.state.pendingPrefillTokens = (entry.state.pendingPrefillTokens ?? 0) + tokens;
  }

  removePendingPrefill(entry: BackendEntry, tokens: number): void {
    entry.state.pendingPrefillTokens = Math.max(0, (entry.state.pendingPrefillTokens ?? 0) - tokens);
  }

  release(entry: BackendEntry, tokens: number): void {
    entry.state.inFlightRequests = Math.max(0, entry.state.inFlightRequests - 1);
    entry.state.inFlightTokens = Math.max(0, entry.state.inFlightTokens - tokens);
    if (entry.state.kind !== 'openai') this.scraper?.noteActivity(entry.state.id);
    if (entry.state.inFlightRequests === 0 && this.idleWaiters.has(entry.state.id)) this.notifyIdle(entry.state.id);
  }

  now(): number {
    return this.clock();
  }

  markSuccess(entry: BackendEntry): void {
    entry.lastSuccessAt = this.clock();
  }

  /** Honour an upstream retry-after: keep the backend out of scheduling until it passes. */
  coolDown(entry: BackendEntry, milliseconds: number): void {
    entry.coolingUntil = Math.max(entry.coolingUntil, this.clock() + milliseconds);
  }

  forEachBackend(visit: (id: string, pool: string, inFlight: number, circuit: number, stale: boolean) => void): void {
    const now = this.clock();
    for (const entry of this.entries) {
      this.refresh(entry, now);
      visit(
        entry.state.id,
        entry.state.pool,
        entry.state.inFlightRequests,
        CIRCUIT_STATE_VALUE[entry.breaker.state],
        entry.state.metricsStale,
      );
    }
  }

  async close(): Promise<void> {
    this.scraper?.stop();
    await Promise.allSettled(this.entries.map((entry) => entry.backend.close()));
  }
}
