// An in-memory PoolRegistry + PoolSignalSource + SpillOverAdvisor: the stand-in for the router's pool API in deploy's
// tests and in `switchyard deploy up` without a router. `lease(pool)` is the routing half a router would do (least
// in-flight among non-draining replicas), so drains are observable with real requests.
import type {
  Clock,
  DrainOptions,
  DrainResult,
  PoolRegistry,
  PoolSignalSource,
  PoolSignals,
  ReplicaEndpoint,
  ReplicaSignals,
  SpillOverAdvice,
  SpillOverAdvisor,
} from '../contracts.ts';

export interface ReplicaMetrics {
  kvCacheUsage: number;
  requestsWaiting: number;
  requestsRunning: number;
}

export interface Lease {
  replica: ReplicaEndpoint;
  /** Call exactly once when the request finished (success or failure). */
  release(): void;
}

interface Entry {
  endpoint: ReplicaEndpoint;
  draining: boolean;
  inFlight: number;
  metrics: ReplicaMetrics;
  drainWaiters: (() => void)[];
}

interface PoolTraffic {
  arrivals: number[];
  spills: number[];
  routerQueue: number;
}

export interface MemoryRegistryOptions {
  clock: Clock;
  /** Window over which request and spill-over rates are computed. */
  rateWindowMs?: number;
}

const MAX_RATE_SAMPLES = 100_000;

export class InMemoryPoolRegistry implements PoolRegistry, PoolSignalSource, SpillOverAdvisor {
  private readonly clock: Clock;
  private readonly rateWindowMs: number;
  private readonly entries = new Map<string, Entry>();
  private readonly traffic = new Map<string, PoolTraffic>();
  private readonly advice = new Map<string, SpillOverAdvice>();
  private readonly cursor = new Map<string, number>();

  constructor(options: MemoryRegistryOptions) {
    this.clock = options.clock;
    this.rateWindowMs = options.rateWindowMs ?? 10_000;
  }

  register(replica: ReplicaEndpoint): void {
    const existing = this.entries.get(replica.replicaId);
    if (existing) {
      existing.endpoint = replica;
      return;
    }
    this.entries.set(replica.replicaId, {
      endpoint: replica,
      draining: false,
      inFlight: 0,
      metrics: { kvCacheUsage: 0, requestsWaiting: 0, requestsRunning: 0 },
      drainWaiters: [],
    });
  }

  drain(replicaId: string, options: DrainOptions): Promise<DrainResult> {
    const entry = this.entries.get(replicaId);
    const started = this.clock.now();
    if (!entry) return Promise.resolve({ drained: true, inFlight: 0, waitedMs: 0 });
    entry.draining = true;
    if (entry.inFlight === 0) return Promise.resolve({ drained: true, inFlight: 0, waitedMs: 0 });
    return new Promise<DrainResult>((resolve) => {
      let settled = false;
      const finish = (drained: boolean): void => {
        if (settled) return;
        settled = true;
        timer.cancel();
        resolve({ drained, inFlight: entry.inFlight, waitedMs: this.clock.now() - started });
      };
      const timer = this.clock.setTimer(options.timeoutMs, () => finish(false));
      entry.drainWaiters.push(() => finish(true));
    });
  }

  deregister(replicaId: string): void {
    const entry = this.entries.get(replicaId);
    if (!entry) return;
    this.entries.delete(replicaId);
    for (const waiter of entry.drainWaiters.splice(0)) waiter();
  }

  list(pool?: string): ReplicaEndpoint[] {
    return [...this.entries.values()]
      .filter((entry) => pool === undefined || entry.endpoint.pool === pool)
      .map((entry) => entry.endpoint);
  }

  isDraining(replicaId: string): boolean {
    return this.entries.get(replicaId)?.draining ?? false;
  }

  inFlight(replicaId: string): number {
    return this.entries.get(replicaId)?.inFlight ?? 0;
  }

  /** Route one request of `pool`: least in-flight among routable replicas, round-robin on ties. */
  lease(pool: string): Lease | undefined {
    this.recordArrival(pool, false);
    const candidates = [...this.entries.values()].filter((entry) => entry.endpoint.pool === pool && !entry.draining);
    if (candidates.length === 0) return undefined;
    const start = (this.cursor.get(pool) ?? 0) % candidates.length;
    this.cursor.set(pool, start + 1);
    let best = candidates[start]!;
    for (let offset = 1; offset < candidates.length; offset++) {
      const candidate = candidates[(start + offset) % candidates.length]!;
      if (candidate.inFlight < best.inFlight) best = candidate;
    }
    const entry = best;
    entry.inFlight++;
    let released = false;
    return {
      replica: entry.endpoint,
      release: () => {
        if (released) return;
        released = true;
        entry.inFlight--;
        if (entry.inFlight === 0) for (const waiter of entry.drainWaiters.splice(0)) waiter();
      },
    };
  }

  /** A request of `pool` was sent to the hosted tier instead. */
  recordSpillOver(pool: string): void {
    this.recordArrival(pool, true);
  }

  reportMetrics(replicaId: string, metrics: ReplicaMetrics): void {
    const entry = this.entries.get(replicaId);
    if (entry) entry.metrics = { ...metrics };
  }

  setRouterQueue(pool: string, queued: number): void {
    this.trafficOf(pool).routerQueue = queued;
  }

  read(pool: string): PoolSignals {
    const now = this.clock.now();
    const traffic = this.trafficOf(pool);
    this.prune(traffic, now);
    const seconds = this.rateWindowMs / 1000;
    const replicas: ReplicaSignals[] = [...this.entries.values()]
      .filter((entry) => entry.endpoint.pool === pool)
      .map((entry) => ({
        replicaId: entry.endpoint.replicaId,
        kvCacheUsage: entry.metrics.kvCacheUsage,
        requestsWaiting: entry.metrics.requestsWaiting,
        requestsRunning: entry.metrics.requestsRunning,
        inFlight: entry.inFlight,
        draining: entry.draining,
      }));
    return {
      pool,
      at: now,
      replicas,
      routerQueue: traffic.routerQueue,
      requestsPerSecond: traffic.arrivals.length / seconds,
      spillOverPerSecond: traffic.spills.length / seconds,
    };
  }

  adviseSpillOver(pool: string, advice: SpillOverAdvice): void {
    this.advice.set(pool, { ...advice });
  }

  spillOverAdvice(pool: string): SpillOverAdvice | undefined {
    return this.advice.get(pool);
  }

  private recordArrival(pool: string, spilled: boolean): void {
    const traffic = this.trafficOf(pool);
    const now = this.clock.now();
    traffic.arrivals.push(now);
    if (spilled) traffic.spills.push(now);
    if (traffic.arrivals.length > MAX_RATE_SAMPLES) this.prune(traffic, now);
  }

  private prune(traffic: PoolTraffic, now: number): void {
    const cutoff = now - this.rateWindowMs;
    const keep = (times: number[]): number[] => {
      const first = times.findIndex((at) => at > cutoff);
      return first < 0 ? [] : times.slice(first).slice(-MAX_RATE_SAMPLES);
    };
    traffic.arrivals = keep(traffic.arrivals);
    traffic.spills = keep(traffic.spills);
  }

  private trafficOf(pool: string): PoolTraffic {
    let traffic = this.traffic.get(pool);
    if (!traffic) {
      traffic = { arrivals: [], spills: [], routerQueue: 0 };
      this.traffic.set(pool, traffic);
    }
    return traffic;
  }
}
