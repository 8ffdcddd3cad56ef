// One pool's lifecycle on top of a Driver: desired count → GPUs from the inventory → start → /health → register with
// the router; scale-down → drain (bounded) → stop → release GPUs → deregister. On start-up it adopts the driver's
// existing replicas of this pool instead of starting duplicates, and a replica that dies is deregistered and replaced.
import { randomBytes } from 'node:crypto';
import type { Driver, PoolRegistry, ReplicaExit, ReplicaInfo } from './contracts.ts';
import { type ResolvedPool, launchArgsFor, replicaExtrasFor } from './config.ts';
import { replicaEngine } from './engines/llamacpp/prepare.ts';
import { ReplicaStartError } from './errors.ts';
import { type HealthProbe, freePort, waitHealthy } from './health.ts';
import type { GpuInventory } from './inventory.ts';
import type { PoolScaleState } from './autoscaler/policy.ts';
import type { ScaleTarget } from './autoscaler/loop.ts';

export type ReplicaState = 'waiting-gpus' | 'starting' | 'ready' | 'draining' | 'stopping';

interface Managed {
  replicaId: string;
  state: ReplicaState;
  info?: ReplicaInfo;
  gpuIds: string[];
  requestedAt: number;
  readyAt?: number;
  abort: AbortController;
  adopted: boolean;
}

export interface PoolEvent {
  type: 'adopted' | 'started' | 'ready' | 'start-failed' | 'drained' | 'removed' | 'died' | 'replaced' | 'removed-dead';
  replicaId: string;
  pool: string;
  /** ms since the replica was requested (started/ready) or since its drain began (drained/removed). */
  elapsedMs?: number;
  detail?: string;
}

export interface PoolLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

export interface PoolControllerOptions {
  pool: ResolvedPool;
  driver: Driver;
  inventory: GpuInventory;
  registry: PoolRegistry;
  /** Interface replicas bind. */
  host: string;
  logger: PoolLogger;
  probe?: HealthProbe;
  healthIntervalMs?: number;
  onEvent?: (event: PoolEvent) => void;
  /** Consecutive failed starts after which the controller stops retrying until the next scaleTo. */
  maxStartFailures?: number;
}

export interface PoolStatus {
  pool: string;
  model: string;
  gpu: string;
  tensorParallel: number;
  desired: number;
  replicas: {
    replicaId: string;
    state: ReplicaState;
    url?: string;
    gpuIds: string[];
    adopted: boolean;
    readyAfterMs?: number;
  }[];
  replacements: number;
  startFailures: number;
}

export class PoolController implements ScaleTarget {
  readonly name: string;
  private readonly options: PoolControllerOptions;
  private readonly replicas = new Map<string, Managed>();
  private readonly tasks = new Set<Promise<void>>();
  private desired: number;
  private replacements = 0;
  private startFailures = 0;
  private consecutiveFailures = 0;
  private unsubscribe: (() => void) | undefined;
  private closed = false;

  constructor(options: PoolControllerOptions) {
    this.options = options;
    this.name = options.pool.name;
    this.desired = options.pool.replicas;
    this.unsubscribe = options.driver.onExit((exit) => this.onExit(exit));
  }

  /**
   * Reconcile desired vs actual from the driver's view: running replicas of this pool are adopted (GPUs recorded,
   * registered once healthy), exited ones are removed. Desired becomes max(configured, adopted) capped at max.
   */
  async adopt(): Promise<ReplicaInfo[]> {
    const existing = (await this.options.driver.list()).filter((info) => info.pool === this.name);
    const adopted: ReplicaInfo[] = [];
    for (const info of existing) {
      if (info.phase === 'exited' || this.replicas.has(info.replicaId)) {
        if (info.phase === 'exited') {
          await this.options.driver.stop(info.replicaId, { graceMs: 0 });
          this.emit({
            type: 'removed-dead',
            replicaId: info.replicaId,
            pool: this.name,
            detail: 'exited before adoption',
          });
        }
        continue;
      }
      this.options.inventory.adopt(info.replicaId, info.gpuIds);
      const managed: Managed = {
        replicaId: info.replicaId,
        state: 'starting',
        info,
        gpuIds: [...info.gpuIds],
        requestedAt: Date.now(),
        abort: new AbortController(),
        adopted: true,
      };
      this.replicas.set(info.replicaId, managed);
      adopted.push(info);
      this.emit({ type: 'adopted', replicaId: info.replicaId, pool: this.name, detail: info.url });
      this.track(this.becomeReady(managed));
    }
    this.desired = Math.min(this.options.pool.maxReplicas, Math.max(this.desired, adopted.length));
    return adopted;
  }

  /** Set the desired count and wait until the pool has settled there (started replicas healthy, removed ones gone). */
  async scaleTo(replicas: number, reason = 'operator'): Promise<PoolStatus> {
    const { minReplicas, maxReplicas } = this.options.pool;
    const target = Math.max(0, Math.min(maxReplicas, Math.max(minReplicas, replicas)));
    if (target !== this.desired)
      this.options.logger.info(
        { pool: this.name, from: this.desired, to: target, reason },
        `scale ${this.name} ${this.desired}→${target}`,
      );
    this.desired = target;
    this.consecutiveFailures = 0;
    this.reconcile();
    await this.settled();
    return this.status();
  }

  /** Wait until no start/drain task is pending. */
  async settled(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  scaleState(): PoolScaleState {
    const count = (...states: ReplicaState[]): number =>
      [...this.replicas.values()].filter((managed) => states.includes(managed.state)).length;
    return {
      desired: this.desired,
      ready: count('ready'),
      starting: count('starting', 'waiting-gpus'),
      minReplicas: this.options.pool.minReplicas,
      maxReplicas: this.options.pool.maxReplicas,
    };
  }

  gpuIds(): string[] {
    return [...this.replicas.values()].flatMap((managed) => managed.gpuIds);
  }

  status(): PoolStatus {
    return {
      pool: this.name,
      model: this.options.pool.model,
      gpu: this.options.pool.gpu,
      tensorParallel: this.options.pool.tensorParallel,
      desired: this.desired,
      replicas: [...this.replicas.values()].map((managed) => ({
        replicaId: managed.replicaId,
        state: managed.state,
        ...(managed.info ? { url: managed.info.url } : {}),
        gpuIds: managed.gpuIds,
        adopted: managed.adopted,
        ...(managed.readyAt === undefined ? {} : { readyAfterMs: managed.readyAt - managed.requestedAt }),
      })),
      replacements: this.replacements,
      startFailures: this.startFailures,
    };
  }

  /** Stop watching; replicas keep running (a later controller adopts them). `down()` removes them instead. */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    // Stop waiting for GPUs and for /health; replicas already started keep running and are adopted next time.
    for (const managed of this.replicas.values())
      if (managed.state === 'waiting-gpus' || managed.state === 'starting') managed.abort.abort();
    await this.settled();
  }

  /** Drain and remove every replica. */
  async down(): Promise<void> {
    this.desired = 0;
    const { minReplicas } = this.options.pool;
    this.options.pool = { ...this.options.pool, minReplicas: 0 };
    this.reconcile();
    await this.settled();
    this.options.pool = { ...this.options.pool, minReplicas };
  }

  private active(): Managed[] {
    return [...this.replicas.values()].filter(
      (managed) => managed.state !== 'draining' && managed.state !== 'stopping',
    );
  }

  private reconcile(): void {
    if (this.closed) return;
    const active = this.active();
    if (active.length < this.desired) {
      if (this.consecutiveFailures >= (this.options.maxStartFailures ?? 3)) {
        this.options.logger.warn(
          { pool: this.name, failures: this.consecutiveFailures },
          `not starting more replicas of ${this.name} after repeated failures`,
        );
        return;
      }
      for (let count = active.length; count < this.desired; count++) this.startReplica();
      return;
    }
    // Remove surplus: replicas still waiting or starting first (least sunk cost), then the newest ready ones.
    const order: ReplicaState[] = ['waiting-gpus', 'starting', 'ready'];
    const victims = active
      .sort((a, b) => order.indexOf(a.state) - order.indexOf(b.state) || b.requestedAt - a.requestedAt)
      .slice(0, active.length - this.desired);
    for (const victim of victims) this.track(this.removeReplica(victim, 'scale-down'));
  }

  private track(task: Promise<void>): void {
    const tracked = task.catch((error: unknown) => {
      this.options.logger.warn({ pool: this.name, error: (error as Error).message }, 'pool task failed');
    });
    const entry = tracked.finally(() => this.tasks.delete(entry));
    this.tasks.add(entry);
  }

  private startReplica(): void {
    const replicaId = `${this.name}-${randomBytes(4).toString('hex')}`;
    const managed: Managed = {
      replicaId,
      state: 'waiting-gpus',
      gpuIds: [],
      requestedAt: Date.now(),
      abort: new AbortController(),
      adopted: false,
    };
    this.replicas.set(replicaId, managed);
    this.track(this.runStart(managed));
  }

  private async runStart(managed: Managed): Promise<void> {
    const { pool, driver, inventory, host } = this.options;
    const gpuWait = AbortSignal.timeout(pool.gpuWaitTimeoutMs);
    try {
      managed.gpuIds = await inventory.acquire(managed.replicaId, pool.tensorParallel, {
        signal: AbortSignal.any([managed.abort.signal, gpuWait]),
      });
    } catch (error) {
      this.replicas.delete(managed.replicaId);
      if (managed.abort.signal.aborted) return;
      if (gpuWait.aborted) {
        // Waiting longer will not help until something else frees GPUs: fail, and retry only on the next scale request.
        const holders =
          inventory
            .grants()
            .map((grant) => `${grant.owner}[${grant.gpuIds.join(',')}]`)
            .join(' ') || 'none';
        this.startFailures++;
        this.consecutiveFailures = this.options.maxStartFailures ?? 3;
        const detail = `no ${pool.tensorParallel} free GPU(s) within ${pool.gpuWaitTimeoutMs} ms (host has ${inventory.total}; held: ${holders})`;
        this.options.logger.warn({ pool: this.name, replicaId: managed.replicaId, detail }, 'replica start failed');
        this.emit({ type: 'start-failed', replicaId: managed.replicaId, pool: this.name, detail });
        return;
      }
      throw error;
    }
    if (managed.abort.signal.aborted) {
      inventory.release(managed.replicaId);
      this.replicas.delete(managed.replicaId);
      return;
    }
    managed.state = 'starting';
    try {
      const port = await freePort(host === '0.0.0.0' ? '127.0.0.1' : host);
      managed.info = await driver.start({
        replicaId: managed.replicaId,
        pool: pool.name,
        model: pool.model,
        gpu: pool.gpu,
        dtype: pool.dtype,
        tensorParallel: pool.tensorParallel,
        gpuIds: managed.gpuIds,
        host,
        port,
        launchArgs: launchArgsFor(pool, port, host),
        ...replicaExtrasFor(pool),
        ...(pool.engine === 'llamacpp' ? { engine: replicaEngine(pool, port, host) } : {}),
      });
      this.emit({
        type: 'started',
        replicaId: managed.replicaId,
        pool: pool.name,
        elapsedMs: Date.now() - managed.requestedAt,
      });
      if (managed.abort.signal.aborted && !this.closed) {
        // Removed while the driver was creating it: clean up here, removeReplica left it to us.
        await driver.stop(managed.replicaId, { graceMs: 0 });
        inventory.release(managed.replicaId);
        this.replicas.delete(managed.replicaId);
        return;
      }
    } catch (error) {
      await this.failStart(managed, error instanceof Error ? error.message : String(error));
      return;
    }
    await this.becomeReady(managed);
  }

  private async becomeReady(managed: Managed): Promise<void> {
    const { pool, driver, registry } = this.options;
    const info = managed.info!;
    const outcome = await waitHealthy(info.url, {
      timeoutMs: pool.healthTimeoutMs,
      intervalMs: this.options.healthIntervalMs ?? 100,
      signal: managed.abort.signal,
      ...(this.options.probe ? { probe: this.options.probe } : {}),
      isAlive: async () => managed.state === 'starting' && !managed.abort.signal.aborted,
    });
    if (outcome !== 'healthy') {
      if (outcome === 'aborted' || managed.state !== 'starting') return;
      const logs = await driver.logs(managed.replicaId, 20).catch(() => '');
      await this.failStart(
        managed,
        `${info.url}/health: ${outcome} after ${pool.healthTimeoutMs} ms; last output:\n${logs}`,
      );
      return;
    }
    await registry.register({
      replicaId: info.replicaId,
      pool: pool.name,
      model: pool.model,
      url: info.url,
      gpuIds: managed.gpuIds,
    });
    managed.state = 'ready';
    managed.readyAt = Date.now();
    this.consecutiveFailures = 0;
    this.emit({
      type: 'ready',
      replicaId: managed.replicaId,
      pool: pool.name,
      elapsedMs: managed.readyAt - managed.requestedAt,
    });
    // Scale-down may have been asked while this one was starting.
    if (this.active().length > this.desired) this.reconcile();
  }

  private async failStart(managed: Managed, detail: string): Promise<void> {
    this.startFailures++;
    this.consecutiveFailures++;
    const error = new ReplicaStartError(
      managed.replicaId,
      `replica ${managed.replicaId} of ${this.name} failed to start: ${detail}`,
    );
    this.options.logger.warn(
      { pool: this.name, replicaId: managed.replicaId, error: error.message },
      'replica start failed',
    );
    this.emit({ type: 'start-failed', replicaId: managed.replicaId, pool: this.name, detail });
    managed.state = 'stopping';
    await this.options.driver.stop(managed.replicaId, { graceMs: 0 }).catch(() => undefined);
    this.options.inventory.release(managed.replicaId);
    this.replicas.delete(managed.replicaId);
    this.reconcile();
  }

  private async removeReplica(managed: Managed, why: string): Promise<void> {
    const { driver, registry, inventory, pool } = this.options;
    if (managed.state === 'waiting-gpus') {
      managed.abort.abort();
      this.replicas.delete(managed.replicaId);
      return;
    }
    if (!managed.info) {
      // driver.start is still running: runStart sees the abort and removes it once start returns.
      managed.state = 'stopping';
      managed.abort.abort();
      return;
    }
    const wasReady = managed.state === 'ready';
    managed.state = 'draining';
    managed.abort.abort();
    const drainStarted = Date.now();
    if (wasReady) {
      const result = await registry.drain(managed.replicaId, { timeoutMs: pool.drainTimeoutMs });
      this.emit({
        type: 'drained',
        replicaId: managed.replicaId,
        pool: pool.name,
        elapsedMs: Date.now() - drainStarted,
        detail: result.drained ? 'in-flight reached 0' : `drain timed out with ${result.inFlight} in flight`,
      });
    }
    managed.state = 'stopping';
    await driver.stop(managed.replicaId, { graceMs: pool.stopGraceMs });
    await registry.deregister(managed.replicaId);
    inventory.release(managed.replicaId);
    this.replicas.delete(managed.replicaId);
    this.emit({
      type: 'removed',
      replicaId: managed.replicaId,
      pool: pool.name,
      elapsedMs: Date.now() - drainStarted,
      detail: why,
    });
  }

  private onExit(exit: ReplicaExit): void {
    const managed = this.replicas.get(exit.replicaId);
    if (!managed || managed.state === 'draining' || managed.state === 'stopping') return;
    // Dying before it ever became ready is a failed start: counted, so a crash-looping command line stops after
    // maxStartFailures instead of being replaced forever.
    const neverReady = managed.readyAt === undefined && !managed.adopted;
    this.options.logger.warn(
      { pool: this.name, replicaId: exit.replicaId, detail: exit.detail },
      `replica ${exit.replicaId} died; replacing it`,
    );
    this.emit({ type: 'died', replicaId: exit.replicaId, pool: this.name, detail: exit.detail });
    managed.state = 'stopping';
    managed.abort.abort();
    this.track(
      (async () => {
        const logs = neverReady ? await this.options.driver.logs(exit.replicaId, 20).catch(() => '') : '';
        await this.options.registry.deregister(exit.replicaId);
        await this.options.driver.stop(exit.replicaId, { graceMs: 0 }).catch(() => undefined);
        this.options.inventory.release(exit.replicaId);
        this.replicas.delete(exit.replicaId);
        if (this.closed) return;
        if (neverReady) {
          this.startFailures++;
          this.consecutiveFailures++;
          this.emit({
            type: 'start-failed',
            replicaId: exit.replicaId,
            pool: this.name,
            detail: `${exit.detail} before /health answered; last output:\n${logs}`,
          });
        } else {
          this.replacements++;
          this.emit({ type: 'replaced', replicaId: exit.replicaId, pool: this.name });
        }
        this.reconcile();
      })(),
    );
  }

  private emit(event: PoolEvent): void {
    this.options.onEvent?.(event);
  }
}
