// Operator traffic overrides at run time (no restart), for the runbook: pin a router model name (an alias or `auto`)
// to one model, and shift a vLLM pool's traffic to the next pool of its routes (the hosted tier in the embedded
// default) by marking its backends draining — the same flag deploy/ uses, so in-flight requests finish and new ones
// take the route's next step. Overrides live in memory: a restart returns to the config.
import type { SimReplica } from '../../models/sim/index.ts';
import { replicaOptions } from '../simulated-pools/simulator.ts';
import type { RouterRuntime } from '../runtime/runtime.ts';
import { InvalidRequestError, NotFoundError } from '../../core/errors.ts';

export interface TrafficState {
  pins: Record<string, string>;
  shiftedAway: string[];
}

export class TrafficOverrides {
  private readonly pins = new Map<string, string>();
  private readonly shifted = new Set<string>();
  private readonly originalPlan: RouterRuntime['planner']['plan'];
  /** Simulator replicas started by `scale`, by replica id. */
  private readonly added = new Map<string, SimReplica>();
  private started = 0;

  constructor(private readonly runtime: RouterRuntime) {
    const planner = runtime.planner;
    this.originalPlan = planner.plan.bind(planner);
  }

  state(): TrafficState {
    return { pins: Object.fromEntries(this.pins), shiftedAway: [...this.shifted] };
  }

  /** Requests naming `name` are planned as if they named `target` (their `requested` name is kept). */
  pin(name: string, target: string): void {
    const known = (model: string): boolean =>
      this.runtime.config.models.some((entry) => entry.name === model || entry.aliases.includes(model)) ||
      this.runtime.config.auto?.name === model;
    if (!known(name)) throw new NotFoundError(`Unknown model '${name}'.`, { param: 'model', code: 'model_not_found' });
    if (!known(target) || this.runtime.config.auto?.name === target) {
      throw new InvalidRequestError(`Cannot pin to '${target}': pin to a configured model.`, {
        param: 'target',
        code: 'invalid_value',
      });
    }
    this.pins.set(name, target);
    this.install();
  }

  unpin(name: string): void {
    this.pins.delete(name);
    this.install();
  }

  /** While on, the pool's backends take no new requests: they go along their route (to hosted in the default). */
  shiftAway(pool: string, on: boolean): void {
    if (!this.runtime.config.pools.some((entry) => entry.name === pool && entry.kind === 'vllm')) {
      throw new NotFoundError(`Unknown vLLM pool '${pool}'.`, { param: 'pool', code: 'pool_not_found' });
    }
    for (const entry of this.runtime.registry.pool(pool)) entry.draining = on;
    if (on) this.shifted.add(pool);
    else this.shifted.delete(pool);
  }

  /**
   * Sets the number of serving replicas of a simulator-driven vLLM pool (the embedded default's pools): starts
   * replicas and registers them, or drains and removes the newest ones. Real fleets scale with `switchyard deploy
   * scale`, which registers through the same PoolRegistry.
   */
  async scale(poolName: string, replicas: number): Promise<{ pool: string; replicas: number }> {
    const pool = this.runtime.config.pools.find((entry) => entry.name === poolName);
    if (pool?.kind !== 'vllm')
      throw new NotFoundError(`Unknown vLLM pool '${poolName}'.`, { param: 'pool', code: 'pool_not_found' });
    if (pool.driver?.type !== 'simulator') {
      throw new InvalidRequestError(
        `Pool '${poolName}' is not simulator-driven; scale real replicas with \`switchyard deploy scale\`.`,
        { param: 'pool' },
      );
    }
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 64)
      throw new InvalidRequestError('replicas must be a whole number from 1 to 64.', { param: 'replicas' });
    const serving = (): number => this.runtime.registry.pool(poolName).filter((entry) => !entry.draining).length;
    while (serving() < replicas) {
      this.started++;
      // The simulator loads when a traffic override first starts a replica, not with every router.
      const { startSimReplica } = await import('../../models/sim/index.ts');
      const replica = await startSimReplica(replicaOptions(pool, 100 + this.started));
      const replicaId = `${poolName}-s${this.started}`;
      this.added.set(replicaId, replica);
      this.runtime.pools.register({
        replicaId,
        pool: poolName,
        model: pool.servedModel ?? replica.servedModelName,
        url: replica.url,
        gpuIds: [],
      });
    }
    while (serving() > replicas) {
      const entry = this.runtime.registry
        .pool(poolName)
        .filter((candidate) => !candidate.draining)
        .at(-1)!;
      const id = entry.state.id;
      await this.runtime.pools.drain(id, { timeoutMs: 30_000 });
      await this.runtime.pools.deregister(id);
      await this.added.get(id)?.close();
      this.added.delete(id);
    }
    return { pool: poolName, replicas: serving() };
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.added.values()].map((replica) => replica.close()));
  }

  /** The planner is wrapped only while a pin exists, so unpinned routers plan exactly as configured. */
  private install(): void {
    const planner = this.runtime.planner;
    if (this.pins.size === 0) {
      planner.plan = this.originalPlan;
      return;
    }
    const pins = this.pins;
    const original = this.originalPlan;
    planner.plan = (name, body) => {
      const target = pins.get(name);
      return target === undefined ? original(name, body) : { ...original(target, body), requested: name };
    };
  }
}
