import { describe, expect, it } from 'vitest';
import type { PoolSignals } from '../contracts.ts';
import { AutoscalerPolicy, type PolicyMemory, type PoolScaleState, decide, initialMemory } from './policy.ts';

const policy = AutoscalerPolicy.parse({
  scaleUpWindowMs: 30_000,
  scaleDownWindowMs: 120_000,
  scaleUpCooldownMs: 60_000,
  scaleDownCooldownMs: 120_000,
  utilizationSignal: 'max',
});

function signals(kv: number[], extra: Partial<PoolSignals> = {}): PoolSignals {
  return {
    pool: 'p',
    at: 0,
    replicas: kv.map((usage, index) => ({
      replicaId: `r${index}`,
      kvCacheUsage: usage,
      requestsWaiting: 0,
      requestsRunning: 1,
      inFlight: 1,
      draining: false,
    })),
    routerQueue: 0,
    spillOverPerSecond: 0,
    requestsPerSecond: 5,
    ...extra,
  };
}

const pool = (desired: number, extra: Partial<PoolScaleState> = {}): PoolScaleState => ({
  desired,
  ready: desired,
  starting: 0,
  minReplicas: 1,
  maxReplicas: 4,
  ...extra,
});

/** Feed the same reading every 5 s for `ms`, return the decisions. */
function run(
  memory: PolicyMemory,
  from: number,
  ms: number,
  reading: () => { signals: PoolSignals; pool: PoolScaleState; gpu?: number | null },
) {
  const decisions = [];
  let state = memory;
  for (let now = from; now <= from + ms; now += 5_000) {
    const input = reading();
    const result = decide(policy, state, {
      now,
      signals: input.signals,
      pool: input.pool,
      gpuUtilization: input.gpu ?? null,
    });
    state = result.memory;
    decisions.push(result.decision);
  }
  return { decisions, memory: state };
}

describe('autoscaler policy', () => {
  it('holds inside the band', () => {
    const { decisions } = run(initialMemory(), 0, 600_000, () => ({ signals: signals([0.7, 0.75]), pool: pool(2) }));
    expect(new Set(decisions.map((decision) => decision.reason))).toEqual(new Set(['in-band']));
  });

  it('needs the hot condition sustained for the whole window; a dip resets it', () => {
    let usage = 0.9;
    const first = run(initialMemory(), 0, 25_000, () => ({ signals: signals([usage]), pool: pool(1) }));
    expect(first.decisions.every((decision) => decision.reason === 'window-not-elapsed')).toBe(true);
    usage = 0.7;
    const dip = run(first.memory, 30_000, 0, () => ({ signals: signals([usage]), pool: pool(1) }));
    expect(dip.decisions[0]!.reason).toBe('in-band');
    usage = 0.95;
    const again = run(dip.memory, 35_000, 30_000, () => ({ signals: signals([usage]), pool: pool(1) }));
    const up = again.decisions.find((decision) => decision.action === 'scale-up')!;
    expect(up.at).toBe(65_000);
    // Proportional: one replica at 95% with a 75% target wants ceil(0.95/0.75) = 2 replicas.
    expect([up.from, up.to, up.reason]).toEqual([1, 2, 'above-band']);
  });

  it('scales up on queue pressure, respects cooldown, capacity already starting and max', () => {
    const queue = signals([0.5, 0.5], { routerQueue: 20 });
    const { decisions, memory } = run(initialMemory(), 0, 30_000, () => ({ signals: queue, pool: pool(2) }));
    const up = decisions.at(-1)!;
    expect([up.action, up.reason, up.to]).toEqual(['scale-up', 'queue-above-limit', 3]);
    const starting = decide(policy, memory, {
      now: 35_000,
      signals: queue,
      pool: pool(3, { ready: 2, starting: 1 }),
      gpuUtilization: null,
    });
    expect(starting.decision.reason).toBe('capacity-starting');
    expect(starting.decision.spillOver.preferHosted).toBe(true);
    const cooling = run(starting.memory, 40_000, 60_000, () => ({ signals: queue, pool: pool(3) }));
    expect(cooling.decisions.some((decision) => decision.reason === 'cooldown')).toBe(true);
    expect(cooling.decisions.find((decision) => decision.action === 'scale-up')!.at).toBeGreaterThanOrEqual(
      30_000 + policy.scaleUpCooldownMs,
    );
    const atMax = decide(policy, initialMemory(), {
      now: 0,
      signals: signals([0.99, 0.99, 0.99, 0.99]),
      pool: pool(4),
      gpuUtilization: null,
    });
    expect(atMax.decision.reason).toBe('at-max');
    expect(atMax.decision.spillOver.preferHosted).toBe(true);
  });

  it('uses GPU telemetry when it is higher than KV usage (utilizationSignal max)', () => {
    const { decisions } = run(initialMemory(), 0, 30_000, () => ({
      signals: signals([0.4]),
      pool: pool(1),
      gpu: 0.95,
    }));
    expect(decisions.at(-1)!.action).toBe('scale-up');
    expect(decisions.at(-1)!.utilization).toBe(0.95);
  });

  it('scales down one at a time after the longer window, never below min, and not into the band’s top', () => {
    const cold = run(initialMemory(), 0, 120_000, () => ({ signals: signals([0.2, 0.2, 0.2]), pool: pool(3) }));
    const down = cold.decisions.at(-1)!;
    expect([down.action, down.reason, down.to]).toEqual(['scale-down', 'below-band', 2]);
    expect(cold.decisions.slice(0, -1).every((decision) => decision.action === 'hold')).toBe(true);
    // Two replicas at 50%: one would run at 100% > target → hold.
    const tight = run(initialMemory(), 0, 200_000, () => ({ signals: signals([0.5, 0.5]), pool: pool(2) }));
    expect(tight.decisions.at(-1)!.reason).toBe('would-exceed-band');
    const atMin = run(initialMemory(), 0, 200_000, () => ({ signals: signals([0.1]), pool: pool(1) }));
    expect(atMin.decisions.every((decision) => decision.action === 'hold')).toBe(true);
    expect(atMin.decisions.at(-1)!.reason).toBe('at-min');
  });

  it('enforces min/max bounds first and wakes an empty pool on demand', () => {
    expect(
      decide(policy, initialMemory(), {
        now: 0,
        signals: signals([]),
        pool: pool(0, { minReplicas: 2 }),
        gpuUtilization: null,
      }).decision,
    ).toMatchObject({ action: 'scale-up', to: 2, reason: 'below-min' });
    expect(
      decide(policy, initialMemory(), { now: 0, signals: signals([0.7]), pool: pool(6), gpuUtilization: null })
        .decision,
    ).toMatchObject({ action: 'scale-down', to: 4, reason: 'above-max' });
    const empty = pool(0, { minReplicas: 0 });
    expect(
      decide(policy, initialMemory(), {
        now: 0,
        signals: signals([], { requestsPerSecond: 0 }),
        pool: empty,
        gpuUtilization: null,
      }).decision.reason,
    ).toBe('idle-at-zero');
    const wake = decide(policy, initialMemory(), {
      now: 0,
      signals: signals([], { requestsPerSecond: 0, spillOverPerSecond: 0.2 }),
      pool: empty,
      gpuUtilization: null,
    }).decision;
    expect(wake).toMatchObject({ action: 'scale-from-zero', to: 1, reason: 'demand-at-zero' });
    expect(wake.spillOver.preferHosted).toBe(true);
  });
});
