import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../models/sim/clock.ts';
import { InMemoryPoolRegistry } from '../registry/memory.ts';
import { Autoscaler, type DecisionLogger } from './loop.ts';
import { AutoscalerPolicy, type Decision } from './policy.ts';
import { SimPool } from './sim-pool.ts';

// One 8B replica on an A10G with a small KV cache: the band (60–85% KV) is reached at ~2.1–2.4 req/s per replica
// for 600-token prompts and 150-token answers (measured on this very simulator: see deploy/README.md).
const POLICY = AutoscalerPolicy.parse({
  intervalMs: 5_000,
  scaleUpWindowMs: 20_000,
  scaleDownWindowMs: 60_000,
  scaleUpCooldownMs: 30_000,
  scaleDownCooldownMs: 60_000,
  utilizationSignal: 'kv',
});
const MINUTE = 60_000;

interface Run {
  clock: VirtualClock;
  registry: InMemoryPoolRegistry;
  pool: SimPool;
  autoscaler: Autoscaler;
  metrics: Registry;
  logs: { level: string; message: string; fields: object }[];
  /** Every 5 s: virtual time, ready replicas, mean KV usage of non-draining replicas. */
  samples: { at: number; ready: number; kv: number }[];
}

function setUp(
  policyOverrides: Partial<AutoscalerPolicy> = {},
  poolOverrides: { minReplicas?: number; initialReplicas?: number } = {},
): Run {
  const clock = new VirtualClock();
  const registry = new InMemoryPoolRegistry({ clock, rateWindowMs: 10_000 });
  const pool = new SimPool({
    name: 'chat',
    clock,
    registry,
    model: 'llama-3.1-8b',
    gpu: 'a10g',
    kvBlocks: 1500,
    maxNumSeqs: 64,
    minReplicas: poolOverrides.minReplicas ?? 1,
    maxReplicas: 4,
    initialReplicas: poolOverrides.initialReplicas ?? 1,
    startupMs: MINUTE,
    promptTokens: 600,
    outputTokens: 150,
  });
  const logs: Run['logs'] = [];
  const logger: DecisionLogger = {
    info: (fields, message) => logs.push({ level: 'info', message, fields }),
    debug: (fields, message) => logs.push({ level: 'debug', message, fields }),
    warn: (fields, message) => logs.push({ level: 'warn', message, fields }),
  };
  const metrics = new Registry();
  const autoscaler = new Autoscaler({
    policy: { ...POLICY, ...policyOverrides },
    clock,
    targets: [pool],
    signals: registry,
    spillOver: registry,
    logger,
    registry: metrics,
  });
  return { clock, registry, pool, autoscaler, metrics, logs, samples: [] };
}

/** Advance virtual time in 1 s steps, letting promise callbacks (scale actions) run between steps. */
async function advance(run: Run, ms: number): Promise<void> {
  for (let elapsed = 0; elapsed < ms; elapsed += 1_000) {
    run.clock.advance(1_000);
    await new Promise((resolve) => setImmediate(resolve));
    if (run.clock.now() % 5_000 === 0) {
      const serving = run.registry.read('chat').replicas.filter((replica) => !replica.draining);
      const kv =
        serving.length === 0 ? 0 : serving.reduce((sum, replica) => sum + replica.kvCacheUsage, 0) / serving.length;
      run.samples.push({ at: run.clock.now(), ready: run.pool.readyCount(), kv });
    }
  }
}

const actions = (decisions: Decision[]): Decision[] => decisions.filter((decision) => decision.action !== 'hold');

/**
 * The request rate at which one replica of this simulator runs at `targetKv` KV usage, found by bisection on short
 * virtual runs — so the ramp below follows the simulator if its engine or step-time model changes (today ≈ 2.3 req/s
 * for 75%: see deploy/README.md).
 */
function rateForKv(targetKv: number): number {
  const steadyKv = (rate: number): number => {
    const run = setUp({ enabled: false });
    run.pool.runLoad(() => rate, 4 * MINUTE);
    let sum = 0;
    let count = 0;
    for (let at = 5_000; at <= 4 * MINUTE; at += 5_000) {
      run.clock.advance(5_000);
      if (at > 1.5 * MINUTE) {
        sum += run.registry.read('chat').replicas[0]!.kvCacheUsage;
        count++;
      }
    }
    run.pool.stop();
    return sum / count;
  };
  let low = 0.5;
  let high = 6;
  for (let step = 0; step < 6; step++) {
    const middle = (low + high) / 2;
    if (steadyKv(middle) < targetKv) low = middle;
    else high = middle;
  }
  return (low + high) / 2;
}

const BAND_RATE = rateForKv(POLICY.targetUtilization);
const LOAD_DROP_AT = 13 * MINUTE;
/** 0.65× → 3× the one-replica band rate over 4 min, hold until 13 min, then 0.96× (one replica's worth) until 24 min. */
const ramp = (at: number): number => {
  if (at < 4 * MINUTE) return BAND_RATE * (0.65 + (2.35 * at) / (4 * MINUTE));
  if (at < LOAD_DROP_AT) return 3 * BAND_RATE;
  return 0.96 * BAND_RATE;
};

describe('autoscaler on a simulated pool under a load ramp (virtual time)', () => {
  it('scales up within its window, holds in the band, scales down after the longer window and cooldowns', async () => {
    const run = setUp();
    run.pool.runLoad(ramp, 24 * MINUTE);
    run.autoscaler.start();
    await advance(run, 24 * MINUTE);
    run.autoscaler.stop();
    await run.autoscaler.settle();
    const failedBeforeStop = run.pool.counters.failed;
    run.pool.stop();

    const decisions = run.autoscaler.decisions('chat');
    const scaled = actions(decisions);
    const ups = scaled.filter((decision) => decision.action === 'scale-up');
    const downs = scaled.filter((decision) => decision.action === 'scale-down');
    expect(ups.length).toBeGreaterThanOrEqual(2);
    expect(downs.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...scaled.map((decision) => decision.to))).toBe(3);

    // Up within the window: the first scale-up comes at most window + one interval after the pool first ran hot.
    const firstHot = decisions.find(
      (decision) => decision.utilization !== null && decision.utilization > POLICY.highUtilization,
    );
    expect(firstHot).toBeDefined();
    expect(ups[0]!.at - firstHot!.at).toBeLessThanOrEqual(POLICY.scaleUpWindowMs + POLICY.intervalMs);
    expect(ups[0]!.at - firstHot!.at).toBeGreaterThanOrEqual(POLICY.scaleUpWindowMs);

    // Decisions match the policy: ups only when hot, downs only when below the band, never below min or above max.
    for (const decision of ups) {
      expect(decision.utilization! > POLICY.highUtilization || decision.waiting > POLICY.maxWaitingPerReplica).toBe(
        true,
      );
    }
    for (const decision of downs) {
      expect(decision.utilization!).toBeLessThan(POLICY.lowUtilization);
      expect(decision.to).toBeGreaterThanOrEqual(1);
    }
    for (let index = 1; index < downs.length; index++) {
      expect(downs[index]!.at - downs[index - 1]!.at).toBeGreaterThanOrEqual(POLICY.scaleDownCooldownMs);
    }
    // Down only after the load dropped plus the down window.
    expect(downs[0]!.at).toBeGreaterThanOrEqual(LOAD_DROP_AT + POLICY.scaleDownWindowMs);

    // On the plateau (from 7 min, after scale-up settled, to the drop) the pool stays put and inside the band.
    const plateau = run.samples.filter((sample) => sample.at >= 7 * MINUTE && sample.at < LOAD_DROP_AT);
    expect(new Set(plateau.map((sample) => sample.ready))).toEqual(new Set([3]));
    const plateauKv = plateau.reduce((sum, sample) => sum + sample.kv, 0) / plateau.length;
    expect(plateauKv).toBeGreaterThan(POLICY.lowUtilization);
    expect(plateauKv).toBeLessThan(POLICY.highUtilization);
    expect(scaled.filter((decision) => decision.at >= 7 * MINUTE && decision.at < LOAD_DROP_AT)).toEqual([]);

    // Back at one replica with one replica's worth of load: inside the band again at the end.
    const tail = run.samples.filter((sample) => sample.at >= 19 * MINUTE);
    expect(tail.every((sample) => sample.ready === 1)).toBe(true);
    const tailKv = tail.reduce((sum, sample) => sum + sample.kv, 0) / tail.length;
    expect(tailKv).toBeGreaterThan(POLICY.lowUtilization);
    expect(tailKv).toBeLessThan(POLICY.highUtilization);

    // While replicas were starting the router was told to spill, and overflow went to the hosted tier.
    expect(
      decisions.some((decision) => decision.reason === 'capacity-starting' && decision.spillOver.preferHosted),
    ).toBe(true);
    expect(run.pool.counters.spilled).toBeGreaterThan(0);
    expect(failedBeforeStop).toBe(0);

    // Every action is logged with its reason and exported as a metric.
    const infoLogs = run.logs.filter((log) => log.level === 'info');
    expect(infoLogs).toHaveLength(scaled.length);
    expect(infoLogs[0]!.message).toMatch(/autoscaler scale-up chat 1→2: above-band/);
    const text = await run.metrics.metrics();
    expect(text).toMatch(
      new RegExp(
        `switchyard_autoscaler_decisions_total\\{pool="chat",action="scale-up",reason="above-band",dry_run="false"\\} ${ups.filter((decision) => decision.reason === 'above-band').length}`,
      ),
    );
    expect(text).toMatch(/switchyard_autoscaler_desired_replicas\{pool="chat"\} 1/);
  });

  it('dry-run reports the same kind of decisions but never changes the pool', async () => {
    const run = setUp({ dryRun: true });
    run.pool.runLoad(ramp, 5 * MINUTE);
    run.autoscaler.start();
    await advance(run, 5 * MINUTE);
    run.autoscaler.stop();
    await run.autoscaler.settle();
    run.pool.stop();
    const scaled = actions(run.autoscaler.decisions('chat'));
    expect(scaled.length).toBeGreaterThan(0);
    expect(scaled[0]!.action).toBe('scale-up');
    expect(run.samples.every((sample) => sample.ready === 1)).toBe(true);
    expect(run.logs.some((log) => /dry-run: not applied/.test(log.message))).toBe(true);
    expect(await run.metrics.metrics()).toMatch(/action="scale-up",reason="above-band",dry_run="true"/);
  });

  it('scales to zero after the keep-alive period and wakes on demand, spilling while it starts', async () => {
    const keepAliveMs = 5 * MINUTE;
    const run = setUp({ scaleToZero: true, keepAliveMs }, { minReplicas: 0 });
    const load = (at: number): number => (at < 3 * MINUTE || at >= 12 * MINUTE ? 1 : 0);
    run.pool.runLoad(load, 16 * MINUTE);
    run.autoscaler.start();
    await advance(run, 16 * MINUTE);
    run.autoscaler.stop();
    await run.autoscaler.settle();
    run.pool.stop();
    const scaled = actions(run.autoscaler.decisions('chat'));
    const toZero = scaled.find((decision) => decision.action === 'scale-to-zero');
    expect(toZero?.reason).toBe('idle-keep-alive-expired');
    // Not before keep-alive after the last request (3 min + the 10 s rate window), not much after it either.
    expect(toZero!.at).toBeGreaterThanOrEqual(3 * MINUTE + keepAliveMs);
    expect(toZero!.at).toBeLessThanOrEqual(3 * MINUTE + keepAliveMs + 10_000 + 2 * POLICY.intervalMs);
    const wake = scaled.find((decision) => decision.action === 'scale-from-zero');
    expect(wake?.reason).toBe('demand-at-zero');
    expect(wake!.at).toBeGreaterThanOrEqual(12 * MINUTE);
    expect(wake!.at).toBeLessThanOrEqual(12 * MINUTE + POLICY.intervalMs);
    expect(wake!.spillOver.preferHosted).toBe(true);
    expect(run.pool.counters.spilled).toBeGreaterThan(0);
    expect(
      run.samples
        .filter((sample) => sample.at > 9 * MINUTE && sample.at < 12 * MINUTE)
        .every((sample) => sample.ready === 0),
    ).toBe(true);
    expect(run.samples.at(-1)!.ready).toBe(1);
  });
});
