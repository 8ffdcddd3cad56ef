// The scaling policy as a pure function: (policy, memory of past ticks, this tick's readings) → one decision with its
// reason. Keep GPUs in the 60–85% band: scale up when above it (or the queue grows) for a sustained window, down when
// below it for a longer one, with cooldowns, min/max, and scale to zero after a keep-alive period without traffic.
import { z } from 'zod';
import type { PoolSignals, SpillOverAdvice } from '../contracts.ts';

export const AutoscalerPolicy = z.strictObject({
  enabled: z.boolean().default(true),
  /** Compute, log and export decisions but never change the pool. */
  dryRun: z.boolean().default(false),
  intervalMs: z.number().int().positive().default(5_000),
  lowUtilization: z.number().min(0).max(1).default(0.6),
  highUtilization: z.number().min(0).max(1).default(0.85),
  /** Where a scale-up aims the pool (proportional step, like Kubernetes' HPA). */
  targetUtilization: z.number().min(0).max(1).default(0.75),
  /** Waiting requests (vLLM queues + router queue) per ready replica above which the pool counts as hot. */
  maxWaitingPerReplica: z.number().min(0).default(4),
  scaleUpWindowMs: z.number().int().min(0).default(30_000),
  scaleDownWindowMs: z.number().int().min(0).default(300_000),
  scaleUpCooldownMs: z.number().int().min(0).default(60_000),
  scaleDownCooldownMs: z.number().int().min(0).default(300_000),
  maxStepUp: z.number().int().min(1).default(2),
  /** With minReplicas 0: drop to zero replicas once no request arrived for keepAliveMs. */
  scaleToZero: z.boolean().default(false),
  keepAliveMs: z.number().int().min(0).default(900_000),
  /** Which utilization the band applies to: vLLM KV-cache usage, GPU telemetry, or the larger of the two. */
  utilizationSignal: z.enum(['kv', 'gpu', 'max']).default('max'),
});
export type AutoscalerPolicy = z.output<typeof AutoscalerPolicy>;

export type ScaleAction = 'scale-up' | 'scale-down' | 'scale-to-zero' | 'scale-from-zero' | 'hold';

export type DecisionReason =
  | 'below-min'
  | 'above-max'
  | 'demand-at-zero'
  | 'above-band'
  | 'queue-above-limit'
  | 'below-band'
  | 'idle-keep-alive-expired'
  | 'in-band'
  | 'window-not-elapsed'
  | 'cooldown'
  | 'capacity-starting'
  | 'at-max'
  | 'at-min'
  | 'would-exceed-band'
  | 'idle-at-zero'
  | 'no-signal';

export interface PoolScaleState {
  desired: number;
  ready: number;
  starting: number;
  minReplicas: number;
  maxReplicas: number;
}

/** What the policy remembers between ticks (per pool). */
export interface PolicyMemory {
  hotSince: number | null;
  coldSince: number | null;
  lastScaleUpAt: number | null;
  lastScaleDownAt: number | null;
  lastActivityAt: number | null;
}

export const initialMemory = (): PolicyMemory => ({
  hotSince: null,
  coldSince: null,
  lastScaleUpAt: null,
  lastScaleDownAt: null,
  lastActivityAt: null,
});

export interface TickInput {
  now: number;
  signals: PoolSignals;
  pool: PoolScaleState;
  /** Mean GPU utilization of the pool's GPUs from telemetry, null when unavailable. */
  gpuUtilization: number | null;
}

export interface Decision {
  pool: string;
  at: number;
  action: ScaleAction;
  from: number;
  to: number;
  reason: DecisionReason;
  /** Human-readable: the numbers behind the reason. */
  detail: string;
  utilization: number | null;
  waiting: number;
  spillOver: SpillOverAdvice;
}

function poolUtilization(policy: AutoscalerPolicy, input: TickInput): number | null {
  const serving = input.signals.replicas.filter((replica) => !replica.draining);
  const kv =
    serving.length === 0 ? null : serving.reduce((sum, replica) => sum + replica.kvCacheUsage, 0) / serving.length;
  if (policy.utilizationSignal === 'kv') return kv;
  if (policy.utilizationSignal === 'gpu') return input.gpuUtilization;
  if (kv === null) return input.gpuUtilization;
  return input.gpuUtilization === null ? kv : Math.max(kv, input.gpuUtilization);
}

const percent = (value: number | null): string => (value === null ? 'n/a' : `${(value * 100).toFixed(1)}%`);

export function decide(
  policy: AutoscalerPolicy,
  memory: PolicyMemory,
  input: TickInput,
): { decision: Decision; memory: PolicyMemory } {
  const { now, signals, pool } = input;
  const utilization = poolUtilization(policy, input);
  const waiting = signals.routerQueue + signals.replicas.reduce((sum, replica) => sum + replica.requestsWaiting, 0);
  const inFlight = signals.replicas.reduce((sum, replica) => sum + replica.inFlight + replica.requestsRunning, 0);
  const waitingPerReplica = waiting / Math.max(1, pool.ready);
  const next: PolicyMemory = { ...memory };
  if (signals.requestsPerSecond > 0 || inFlight > 0 || waiting > 0 || next.lastActivityAt === null)
    next.lastActivityAt = now;

  const queueHot = waitingPerReplica > policy.maxWaitingPerReplica;
  const hot = (utilization !== null && utilization > policy.highUtilization) || queueHot;
  const cold = utilization !== null && utilization < policy.lowUtilization && waiting === 0;
  next.hotSince = hot ? (memory.hotSince ?? now) : null;
  next.coldSince = cold ? (memory.coldSince ?? now) : null;

  const numbers = `utilization ${percent(utilization)} (band ${percent(policy.lowUtilization)}–${percent(policy.highUtilization)}), waiting ${waiting}, ready ${pool.ready}, starting ${pool.starting}, desired ${pool.desired}`;
  const make = (
    action: ScaleAction,
    to: number,
    reason: DecisionReason,
    why: string,
  ): { decision: Decision; memory: PolicyMemory } => {
    if (action === 'scale-up' || action === 'scale-from-zero') next.lastScaleUpAt = now;
    if (action === 'scale-down' || action === 'scale-to-zero') next.lastScaleDownAt = now;
    if (action !== 'hold') {
      next.hotSince = null;
      next.coldSince = null;
    }
    const startingAfter = pool.starting + Math.max(0, to - pool.desired);
    const saturated = hot || (pool.desired === 0 && to === 0 && signals.requestsPerSecond > 0) || to > pool.ready;
    const preferHosted = saturated && (startingAfter > 0 || pool.desired >= pool.maxReplicas || pool.ready === 0);
    return {
      decision: {
        pool: signals.pool,
        at: now,
        action,
        from: pool.desired,
        to,
        reason,
        detail: `${why}; ${numbers}`,
        utilization,
        waiting,
        spillOver: {
          preferHosted,
          reason: preferHosted
            ? startingAfter > 0
              ? `${startingAfter} replica(s) starting: spill overflow to the hosted tier instead of queueing`
              : pool.ready === 0
                ? 'no ready replica: spill to the hosted tier'
                : 'pool at its maximum and above its band: spill overflow'
            : 'pool has capacity',
          startingReplicas: startingAfter,
        },
      },
      memory: next,
    };
  };
  const since = (at: number | null): number => (at === null ? Number.POSITIVE_INFINITY : now - at);

  // Hard bounds first.
  if (pool.desired < pool.minReplicas)
    return make('scale-up', pool.minReplicas, 'below-min', `desired ${pool.desired} < min ${pool.minReplicas}`);
  if (pool.desired > pool.maxReplicas)
    return make('scale-down', pool.maxReplicas, 'above-max', `desired ${pool.desired} > max ${pool.maxReplicas}`);

  // At zero: any demand (arrivals, spilled requests, router queue) wakes the pool; no cooldown on a cold start.
  if (pool.desired === 0) {
    const demand = signals.requestsPerSecond > 0 || signals.spillOverPerSecond > 0 || signals.routerQueue > 0;
    if (demand && pool.maxReplicas > 0) {
      return make(
        'scale-from-zero',
        Math.max(1, pool.minReplicas),
        'demand-at-zero',
        `${signals.requestsPerSecond.toFixed(2)} req/s arriving at an empty pool`,
      );
    }
    return make('hold', 0, 'idle-at-zero', 'no demand');
  }

  if (hot) {
    const reason: DecisionReason =
      utilization !== null && utilization > policy.highUtilization ? 'above-band' : 'queue-above-limit';
    if (pool.starting > 0)
      return make(
        'hold',
        pool.desired,
        'capacity-starting',
        `hot (${reason}) but ${pool.starting} replica(s) already starting`,
      );
    if (pool.desired >= pool.maxReplicas)
      return make('hold', pool.desired, 'at-max', `hot (${reason}) at max ${pool.maxReplicas}`);
    if (since(next.hotSince) < policy.scaleUpWindowMs) {
      return make(
        'hold',
        pool.desired,
        'window-not-elapsed',
        `hot (${reason}) for ${since(next.hotSince)} ms of ${policy.scaleUpWindowMs}`,
      );
    }
    if (since(memory.lastScaleUpAt) < policy.scaleUpCooldownMs) {
      return make(
        'hold',
        pool.desired,
        'cooldown',
        `scale-up cooldown: ${since(memory.lastScaleUpAt)} ms of ${policy.scaleUpCooldownMs}`,
      );
    }
    const proportional =
      utilization === null ? pool.ready + 1 : Math.ceil((pool.ready * utilization) / policy.targetUtilization);
    const step = Math.min(policy.maxStepUp, Math.max(1, proportional - pool.ready));
    const to = Math.min(pool.maxReplicas, pool.desired + step);
    return make(
      'scale-up',
      to,
      reason,
      `hot for ${since(next.hotSince)} ms ≥ ${policy.scaleUpWindowMs}; +${to - pool.desired}`,
    );
  }

  // Scale to zero after the keep-alive period without any traffic.
  if (
    policy.scaleToZero &&
    pool.minReplicas === 0 &&
    next.lastActivityAt !== null &&
    now - next.lastActivityAt >= policy.keepAliveMs
  ) {
    return make(
      'scale-to-zero',
      0,
      'idle-keep-alive-expired',
      `no traffic for ${now - next.lastActivityAt} ms ≥ keep-alive ${policy.keepAliveMs}`,
    );
  }

  if (cold) {
    if (pool.desired <= Math.max(1, pool.minReplicas))
      return make('hold', pool.desired, 'at-min', `below band at ${pool.desired} replica(s)`);
    if (pool.starting > 0)
      return make('hold', pool.desired, 'capacity-starting', `below band while ${pool.starting} replica(s) start`);
    if (since(next.coldSince) < policy.scaleDownWindowMs) {
      return make(
        'hold',
        pool.desired,
        'window-not-elapsed',
        `below band for ${since(next.coldSince)} ms of ${policy.scaleDownWindowMs}`,
      );
    }
    const lastScale = Math.min(since(memory.lastScaleDownAt), since(memory.lastScaleUpAt));
    if (lastScale < policy.scaleDownCooldownMs) {
      return make(
        'hold',
        pool.desired,
        'cooldown',
        `scale-down cooldown: ${lastScale} ms of ${policy.scaleDownCooldownMs}`,
      );
    }
    // Do not remove a replica if the rest would be pushed above the band right away (flapping).
    const projected = ((utilization ?? 0) * pool.ready) / Math.max(1, pool.ready - 1);
    if (projected > policy.targetUtilization) {
      return make(
        'hold',
        pool.desired,
        'would-exceed-band',
        `one replica fewer would run at ${percent(projected)} > target ${percent(policy.targetUtilization)}`,
      );
    }
    return make(
      'scale-down',
      pool.desired - 1,
      'below-band',
      `below band for ${since(next.coldSince)} ms ≥ ${policy.scaleDownWindowMs}; one fewer runs at ${percent(projected)}`,
    );
  }

  if (utilization === null) return make('hold', pool.desired, 'no-signal', 'no ready replica reports load yet');
  return make('hold', pool.desired, 'in-band', 'inside the band');
}
