// The router's pool API (pool-contracts.ts: PoolRegistry, PoolSignalSource, SpillOverAdvisor; deploy/ drives it):
// replicas registered at run time become vLLM (or llama-server) backends of a configured pool (scraped like the others), drains stop scheduling at once and wait for the router-side
// in-flight count to reach zero, and the autoscaler's spill-over advice feeds the same spill-over path as saturation.
import { createVllmBackend } from '../backends/vllm.ts';
import type { LlamaCppPoolConfig, RouterConfig, VllmPoolConfig } from '../config/schema.ts';
import { InvalidRequestError } from '../../core/errors.ts';
import type { MetricsScraper, ScrapeTarget } from '../scheduling-facade/index.ts';
import type { BackendRegistry } from './backend-registry.ts';
import type { PoolTraffic } from './pool-traffic.ts';
import type { StepTimeModel } from '../../models/step-time.ts';
import type {
  DrainResult,
  PoolSignals,
  ReplicaEndpoint,
  ReplicaSignals,
  SpillOverAdvice,
} from '../../core/pool-contracts.ts';

export type { DrainResult, PoolSignals, ReplicaEndpoint, ReplicaSignals, SpillOverAdvice };

export interface PoolRegistryDeps {
  config: RouterConfig;
  registry: BackendRegistry;
  scraper: MetricsScraper;
  traffic: PoolTraffic;
  /** Step-time model and cost per pool, as the runtime built them for the configured backends. */
  stepModelFor(pool: VllmPoolConfig | LlamaCppPoolConfig): StepTimeModel | undefined;
  relativeCostFor(pool: VllmPoolConfig | LlamaCppPoolConfig): number;
  clock?: () => number;
}

export class RouterPoolRegistry {
  private readonly registered = new Map<string, ReplicaEndpoint>();
  private readonly clock: () => number;

  constructor(private readonly deps: PoolRegistryDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  // ---------------------------------------------------------------- PoolRegistry
  register(replica: ReplicaEndpoint): void {
    const pool = this.deps.config.pools.find((candidate) => candidate.name === replica.pool);
    if (!pool || pool.kind === 'openai') {
      throw new InvalidRequestError(
        `Cannot register replica ${replica.replicaId}: no vLLM or llama.cpp pool "${replica.pool}" in the router config.`,
      );
    }
    if (this.registered.has(replica.replicaId)) this.remove(replica.replicaId);
    const models = this.deps.config.models
      .filter((model) => model.route.includes(pool.name))
      .map((model) => model.name);
    const backend = createVllmBackend({
      id: replica.replicaId,
      url: replica.url,
      connectTimeoutMs: this.deps.config.timeouts.connectMs,
      headers: pool.headers,
      kind: pool.kind,
      ...(pool.kind === 'llamacpp' ? { connections: 64 } : {}),
    });
    this.deps.registry.add(
      backend,
      pool,
      models,
      this.deps.config.circuitBreaker,
      this.deps.stepModelFor(pool),
      this.deps.relativeCostFor(pool),
      replica.model,
    );
    this.registered.set(replica.replicaId, replica);
    this.syncScrapeTargets();
  }

  async drain(replicaId: string, options: { timeoutMs: number }): Promise<DrainResult> {
    const started = this.clock();
    const entry = this.deps.registry.get(replicaId);
    if (!entry) return { drained: true, inFlight: 0, waitedMs: 0 };
    entry.draining = true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
    });
    const outcome = await Promise.race([this.deps.registry.whenIdle(replicaId).then(() => 'idle' as const), timedOut]);
    clearTimeout(timer);
    const inFlight = this.deps.registry.get(replicaId)?.state.inFlightRequests ?? 0;
    return { drained: outcome === 'idle' || inFlight === 0, inFlight, waitedMs: this.clock() - started };
  }

  async deregister(replicaId: string): Promise<void> {
    const entry = this.remove(replicaId);
    await entry?.backend.close();
  }

  list(pool?: string): ReplicaEndpoint[] {
    return [...this.registered.values()].filter((replica) => pool === undefined || replica.pool === pool);
  }

  // ---------------------------------------------------------------- PoolSignalSource
  read(pool: string): PoolSignals {
    const replicas = this.deps.registry.pool(pool).map((entry) => ({
      replicaId: entry.state.id,
      kvCacheUsage: entry.state.metrics?.kvCacheUsage ?? 0,
      requestsWaiting: entry.state.metrics?.requestsWaiting ?? 0,
      requestsRunning: entry.state.metrics?.requestsRunning ?? 0,
      inFlight: entry.state.inFlightRequests,
      draining: entry.draining,
    }));
    return {
      pool,
      at: this.clock(),
      replicas,
      routerQueue: 0,
      spillOverPerSecond: this.deps.traffic.spillOverPerSecond(pool),
      requestsPerSecond: this.deps.traffic.requestsPerSecond(pool),
    };
  }

  // ---------------------------------------------------------------- SpillOverAdvisor
  adviseSpillOver(pool: string, advice: SpillOverAdvice): void {
    this.deps.registry.setPreferHosted(pool, advice.preferHosted);
  }

  private remove(replicaId: string) {
    this.registered.delete(replicaId);
    const entry = this.deps.registry.remove(replicaId);
    this.syncScrapeTargets();
    return entry;
  }

  private syncScrapeTargets(): void {
    const targets: ScrapeTarget[] = [];
    for (const entry of this.deps.registry.all()) {
      if (entry.state.kind === 'llamacpp') {
        targets.push({ id: entry.state.id, url: entry.state.url, engine: 'llamacpp' });
        continue;
      }
      if (entry.state.kind !== 'vllm') continue;
      const modelName = entry.servedModel ?? (entry.pool.kind === 'vllm' ? entry.pool.servedModel : undefined);
      targets.push({ id: entry.state.id, url: entry.state.url, ...(modelName ? { modelName } : {}) });
    }
    this.deps.scraper.setBackends(targets);
  }
}
