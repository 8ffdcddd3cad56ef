// A pool of simulated vLLM engines (models/sim SimEngine, timed by the calibrated step-time model) on one virtual
// clock, with a ramped open-loop load routed through the in-memory registry. The autoscaler drives it through the same
// ScaleTarget interface as the real PoolController, so its decisions are tested against emergent KV usage and queues,
// in seconds of wall time for hours of virtual time.
import { MODELS, type ModelId } from '../../models/catalog/models.ts';
import { GPUS, type GpuId } from '../../models/catalog/gpus.ts';
import { createStepTimeModel } from '../../models/step-time.ts';
import { SimEngine } from '../../models/sim/engine.ts';
import type { VirtualClock } from '../../models/sim/clock.ts';
import type { InMemoryPoolRegistry, Lease } from '../registry/memory.ts';
import type { ScaleTarget } from './loop.ts';
import type { PoolScaleState } from './policy.ts';

export interface SimPoolOptions {
  name: string;
  clock: VirtualClock;
  registry: InMemoryPoolRegistry;
  model: ModelId;
  gpu: GpuId;
  /** KV cache per replica in 16-token blocks (small caches saturate at low request rates: fast tests). */
  kvBlocks: number;
  maxNumSeqs: number;
  minReplicas: number;
  maxReplicas: number;
  initialReplicas: number;
  /** Virtual ms from "start a replica" to "healthy and registered" (vLLM loads weights and warms up). */
  startupMs: number;
  promptTokens: number;
  outputTokens: number;
  /** How often each engine's stats are pushed to the registry, like the router's metrics scrape. */
  scrapeMs?: number;
}

interface SimReplica {
  id: string;
  engine: SimEngine;
  leases: Set<Lease>;
}

export interface SimPoolCounters {
  served: number;
  spilled: number;
  failed: number;
  maxWaiting: number;
  /** Virtual times at which the ready count changed, with the new count. */
  readyTimeline: { at: number; ready: number }[];
}

export class SimPool implements ScaleTarget {
  readonly name: string;
  readonly counters: SimPoolCounters = { served: 0, spilled: 0, failed: 0, maxWaiting: 0, readyTimeline: [] };
  private readonly options: SimPoolOptions;
  private readonly ready = new Map<string, SimReplica>();
  private readonly starting = new Set<string>();
  private desired: number;
  private sequence = 0;
  private nextRequestId = 0;
  private loadTimer: { cancel(): void } | undefined;

  constructor(options: SimPoolOptions) {
    this.options = options;
    this.name = options.name;
    this.desired = options.initialReplicas;
    for (let index = 0; index < options.initialReplicas; index++) this.addReady();
    this.scrapeLoop();
  }

  scaleState(): PoolScaleState {
    return {
      desired: this.desired,
      ready: this.ready.size,
      starting: this.starting.size,
      minReplicas: this.options.minReplicas,
      maxReplicas: this.options.maxReplicas,
    };
  }

  gpuIds(): string[] {
    return [];
  }

  readyCount(): number {
    return this.ready.size;
  }

  scaleTo(replicas: number): Promise<void> {
    this.desired = replicas;
    while (this.ready.size + this.starting.size < this.desired) {
      const id = `${this.name}-start-${this.sequence++}`;
      this.starting.add(id);
      this.options.clock.setTimer(this.options.startupMs, () => {
        if (!this.starting.delete(id)) return;
        this.addReady();
      });
    }
    // Too many: cancel starting replicas first, then drain ready ones (newest first).
    for (const id of [...this.starting]) {
      if (this.ready.size + this.starting.size <= this.desired) break;
      this.starting.delete(id);
    }
    const drains: Promise<unknown>[] = [];
    for (const replica of [...this.ready.values()].reverse()) {
      if (this.ready.size <= this.desired) break;
      this.ready.delete(replica.id);
      this.markTimeline();
      drains.push(
        this.options.registry.drain(replica.id, { timeoutMs: 120_000 }).then(() => {
          this.options.registry.deregister(replica.id);
          replica.engine.shutdown();
        }),
      );
    }
    return Promise.all(drains).then(() => undefined);
  }

  /**
   * Open-loop arrivals at `rate(t)` requests/s (t in virtual ms since the start of the load), deterministic spacing,
   * until `durationMs`. Overflow goes to the hosted tier when the router's advice says so and every replica queues.
   */
  runLoad(rate: (atMs: number) => number, durationMs: number): void {
    const start = this.options.clock.now();
    const arrive = (): void => {
      const elapsed = this.options.clock.now() - start;
      if (elapsed >= durationMs) return;
      const perSecond = rate(elapsed);
      if (perSecond > 0) this.submitOne();
      const gap = perSecond > 0 ? 1000 / perSecond : 1000;
      this.loadTimer = this.options.clock.setTimer(gap, arrive);
    };
    arrive();
  }

  stop(): void {
    this.loadTimer?.cancel();
    for (const replica of this.ready.values()) replica.engine.shutdown();
    this.ready.clear();
    this.starting.clear();
    this.stopped = true;
  }

  private stopped = false;

  private submitOne(): void {
    const { registry } = this.options;
    const advice = registry.spillOverAdvice(this.name);
    const lease = registry.lease(this.name);
    if (!lease) {
      registry.recordSpillOver(this.name);
      this.counters.spilled++;
      return;
    }
    const replica = this.ready.get(lease.replica.replicaId);
    if (!replica) {
      lease.release();
      this.counters.failed++;
      return;
    }
    if (advice?.preferHosted === true && replica.engine.stats().waiting > 0) {
      lease.release();
      registry.recordSpillOver(this.name);
      this.counters.spilled++;
      return;
    }
    replica.leases.add(lease);
    const id = `r${this.nextRequestId++}`;
    replica.engine.submit(
      {
        id,
        promptTokens: Array.from(
          { length: this.options.promptTokens },
          (_, index) => (index * 7919 + this.nextRequestId * 104729) % 100_000,
        ),
        outputTokens: this.options.outputTokens,
      },
      {
        onToken: () => undefined,
        onFinish: (cause) => {
          replica.leases.delete(lease);
          lease.release();
          if (cause === 'completed') this.counters.served++;
          else this.counters.failed++;
        },
      },
    );
  }

  private addReady(): void {
    const { clock, model, gpu, kvBlocks, maxNumSeqs, registry } = this.options;
    const id = `${this.name}-${this.sequence++}`;
    const engine = new SimEngine({
      clock,
      stepTime: createStepTimeModel({ model: MODELS[model], gpu: GPUS[gpu] }),
      totalBlocks: kvBlocks,
      maxNumSeqs,
      maxNumBatchedTokens: 8192,
    });
    this.ready.set(id, { id, engine, leases: new Set() });
    registry.register({ replicaId: id, pool: this.name, model, url: `sim://${id}`, gpuIds: [] });
    this.markTimeline();
  }

  private markTimeline(): void {
    this.counters.readyTimeline.push({ at: this.options.clock.now(), ready: this.ready.size });
  }

  private scrapeLoop(): void {
    const scrape = (): void => {
      if (this.stopped) return;
      for (const replica of this.ready.values()) {
        const stats = replica.engine.stats();
        this.counters.maxWaiting = Math.max(this.counters.maxWaiting, stats.waiting);
        this.options.registry.reportMetrics(replica.id, {
          kvCacheUsage: stats.kvUsage,
          requestsWaiting: stats.waiting,
          requestsRunning: stats.running,
        });
      }
      this.options.clock.setTimer(this.options.scrapeMs ?? 1_000, scrape);
    };
    scrape();
  }
}
