// The control loop: every `intervalMs` of the injected clock, per pool, read the router's signals and GPU telemetry,
// decide (policy.ts), log the decision with its reason, export it as metrics, tell the router's spill-over what to do,
// and — unless dry-run — move the pool. Ticks never overlap; a slow scale action does not block the next tick.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock, GpuTelemetrySource, PoolSignalSource, SpillOverAdvisor, TimerHandle } from '../contracts.ts';
import { meanUtilization } from '../telemetry/metrics.ts';
import {
  type AutoscalerPolicy,
  type Decision,
  type PoolScaleState,
  type PolicyMemory,
  decide,
  initialMemory,
} from './policy.ts';

/** What the loop needs from a pool (the PoolController implements it). */
export interface ScaleTarget {
  readonly name: string;
  scaleState(): PoolScaleState;
  /** GPU ids the pool's replicas hold, to pick their telemetry. */
  gpuIds(): string[];
  scaleTo(replicas: number, reason: string): Promise<unknown>;
}

export interface DecisionLogger {
  info(object: object, message: string): void;
  debug(object: object, message: string): void;
  warn(object: object, message: string): void;
}

export interface AutoscalerOptions {
  policy: AutoscalerPolicy;
  clock: Clock;
  targets: readonly ScaleTarget[];
  signals: PoolSignalSource;
  telemetry?: GpuTelemetrySource;
  spillOver?: SpillOverAdvisor;
  logger: DecisionLogger;
  registry: Registry;
  /** Decisions kept in memory for `status` (oldest dropped first). */
  historyLimit?: number;
}

class AutoscalerMetrics {
  readonly decisions: Counter<'pool' | 'action' | 'reason' | 'dry_run'>;
  readonly desired: Gauge<'pool'>;
  readonly ready: Gauge<'pool'>;
  readonly utilization: Gauge<'pool'>;
  readonly waiting: Gauge<'pool'>;
  readonly spill: Gauge<'pool'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.decisions = new Counter({
      name: 'switchyard_autoscaler_decisions_total',
      help: 'Autoscaler decisions by pool, action and reason',
      labelNames: ['pool', 'action', 'reason', 'dry_run'],
      registers,
    });
    this.desired = new Gauge({
      name: 'switchyard_autoscaler_desired_replicas',
      help: 'Replicas the autoscaler wants',
      labelNames: ['pool'],
      registers,
    });
    this.ready = new Gauge({
      name: 'switchyard_autoscaler_ready_replicas',
      help: 'Replicas ready at the last tick',
      labelNames: ['pool'],
      registers,
    });
    this.utilization = new Gauge({
      name: 'switchyard_autoscaler_utilization_ratio',
      help: 'Pool utilization the policy saw',
      labelNames: ['pool'],
      registers,
    });
    this.waiting = new Gauge({
      name: 'switchyard_autoscaler_waiting_requests',
      help: 'Waiting requests the policy saw',
      labelNames: ['pool'],
      registers,
    });
    this.spill = new Gauge({
      name: 'switchyard_autoscaler_spill_advised',
      help: '1 when the autoscaler advises spilling to the hosted tier',
      labelNames: ['pool'],
      registers,
    });
  }
}

export class Autoscaler {
  private readonly options: AutoscalerOptions;
  private readonly memory = new Map<string, PolicyMemory>();
  private readonly metrics: AutoscalerMetrics;
  private readonly history: Decision[] = [];
  private readonly pendingActions = new Set<Promise<unknown>>();
  private timer: TimerHandle | undefined;
  private ticking = false;
  private running = false;

  constructor(options: AutoscalerOptions) {
    this.options = options;
    this.metrics = new AutoscalerMetrics(options.registry);
  }

  start(): void {
    if (this.running || !this.options.policy.enabled) return;
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Wait for scale actions started by past ticks (tests, shutdown). */
  async settle(): Promise<void> {
    while (this.pendingActions.size > 0) await Promise.allSettled([...this.pendingActions]);
  }

  decisions(pool?: string): Decision[] {
    return this.history.filter((decision) => pool === undefined || decision.pool === pool);
  }

  /** One evaluation of every pool (the loop calls this; tests may too). */
  async tick(): Promise<Decision[]> {
    if (this.ticking) return [];
    this.ticking = true;
    try {
      const { policy, clock, telemetry } = this.options;
      const reading = telemetry ? await telemetry.read() : undefined;
      const made: Decision[] = [];
      for (const target of this.options.targets) {
        const signals = await this.options.signals.read(target.name);
        const pool = target.scaleState();
        const gpuUtilization = reading?.available ? meanUtilization(reading, target.gpuIds()) : null;
        const previous = this.memory.get(target.name) ?? initialMemory();
        const { decision, memory } = decide(policy, previous, { now: clock.now(), signals, pool, gpuUtilization });
        this.memory.set(target.name, memory);
        this.record(decision, pool);
        made.push(decision);
        this.options.spillOver?.adviseSpillOver(target.name, decision.spillOver);
        if (decision.action !== 'hold' && !policy.dryRun) {
          const action = target
            .scaleTo(decision.to, `${decision.reason}: ${decision.detail}`)
            .catch((error: unknown) =>
              this.options.logger.warn(
                { pool: target.name, error: (error as Error).message },
                'autoscaler scale action failed',
              ),
            )
            .finally(() => this.pendingActions.delete(action));
          this.pendingActions.add(action);
        }
      }
      return made;
    } finally {
      this.ticking = false;
    }
  }

  private record(decision: Decision, pool: PoolScaleState): void {
    const { policy, logger } = this.options;
    const dryRun = policy.dryRun ? 'true' : 'false';
    this.metrics.decisions.inc({
      pool: decision.pool,
      action: decision.action,
      reason: decision.reason,
      dry_run: dryRun,
    });
    this.metrics.desired.set({ pool: decision.pool }, decision.to);
    this.metrics.ready.set({ pool: decision.pool }, pool.ready);
    if (decision.utilization !== null) this.metrics.utilization.set({ pool: decision.pool }, decision.utilization);
    this.metrics.waiting.set({ pool: decision.pool }, decision.waiting);
    this.metrics.spill.set({ pool: decision.pool }, decision.spillOver.preferHosted ? 1 : 0);
    this.history.push(decision);
    if (this.history.length > (this.options.historyLimit ?? 10_000)) this.history.shift();
    const fields = {
      pool: decision.pool,
      action: decision.action,
      from: decision.from,
      to: decision.to,
      reason: decision.reason,
      detail: decision.detail,
      dryRun: policy.dryRun,
      spillOver: decision.spillOver.preferHosted,
    };
    const message = `autoscaler ${decision.action} ${decision.pool} ${decision.from}→${decision.to}: ${decision.reason}${policy.dryRun ? ' (dry-run: not applied)' : ''}`;
    if (decision.action === 'hold') logger.debug(fields, message);
    else logger.info(fields, message);
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = this.options.clock.setTimer(this.options.policy.intervalMs, () => {
      void this.tick()
        .catch((error: unknown) =>
          this.options.logger.warn({ error: (error as Error).message }, 'autoscaler tick failed'),
        )
        .finally(() => this.schedule());
    });
  }
}
