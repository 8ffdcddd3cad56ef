// Operator traffic overrides at run time (no restart), for the runbook: pin a router model name (an alias or `auto`)
// to one model, and shift a vLLM pool's traffic to the next pool of its routes (the hosted tier in the embedded
// default) by marking its backends draining — the same flag deploy/ uses, so in-flight requests finish and new ones
// take the route's next step. Overrides live in memory: a restart returns to the config.
import type { RouterRuntime } from '../runtime/runtime.ts';
import { InvalidRequestError, NotFoundError } from '../errors.ts';

export interface TrafficState {
  pins: Record<string, string>;
  shiftedAway: string[];
}

export class TrafficOverrides {
  private readonly pins = new Map<string, string>();
  private readonly shifted = new Set<string>();
  private readonly originalPlan: RouterRuntime['planner']['plan'];

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
      this.runtime.config.models.some((entry) => entry.name === model || entry.aliases.includes(model)) || this.runtime.config.auto?.name === model;
    if (!known(name)) throw new NotFoundError(`Unknown model '${name}'.`, { param: 'model', code: 'model_not_found' });
    if (!known(target) || this.runtime.config.auto?.name === target) {
      throw new InvalidRequestError(`Cannot pin to '${target}': pin to a configured model.`, { param: 'target', code: 'invalid_value' });
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
