import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArrivalSchedule } from './arrivals.ts';
import { BenchConfig } from './config.ts';
import { LOAD_TEST_SHAPE, type FakeUpstream, startFakeUpstream } from '../../core/testing/fake-upstream.ts';
import { createRng } from './rng.ts';
import { runBenchmark } from './runner.ts';

function gaps(rate: number, kind: 'poisson' | 'constant', count: number, seed: number): number[] {
  const schedule = createArrivalSchedule(rate, kind, createRng(seed));
  const offsets = Array.from({ length: count + 1 }, () => schedule.next());
  return offsets.slice(1).map((offset, index) => offset - (offsets[index] ?? 0));
}

describe('open-loop arrival schedule', () => {
  it('Poisson arrivals have the requested rate and exponential gaps (KS test, fixed seed)', () => {
    const rate = 40;
    const sample = gaps(rate, 'poisson', 4000, 7).map((gap) => gap / 1000);
    const mean = sample.reduce((sum, gap) => sum + gap, 0) / sample.length;
    // Mean gap within 5% of 1/rate (σ of the mean is 1/√4000 ≈ 1.6%).
    expect(Math.abs(mean * rate - 1)).toBeLessThan(0.05);
    // Kolmogorov–Smirnov distance to Exp(rate); the 1% critical value is 1.63/√n ≈ 0.026.
    const sorted = [...sample].sort((a, b) => a - b);
    let distance = 0;
    sorted.forEach((gap, index) => {
      const cdf = 1 - Math.exp(-rate * gap);
      distance = Math.max(distance, Math.abs(cdf - index / sorted.length), Math.abs(cdf - (index + 1) / sorted.length));
    });
    expect(distance).toBeLessThan(1.63 / Math.sqrt(sorted.length));
    // Memorylessness shows as a coefficient of variation of 1 (constant spacing would give 0).
    const std = Math.sqrt(sample.reduce((sum, gap) => sum + (gap - mean) ** 2, 0) / sample.length);
    expect(std / mean).toBeGreaterThan(0.9);
    expect(std / mean).toBeLessThan(1.1);
  });

  it('the KS check rejects a non-exponential schedule (the test can fail)', () => {
    const rate = 40;
    const sample = gaps(rate, 'constant', 1000, 7).map((gap) => gap / 1000);
    const sorted = [...sample].sort((a, b) => a - b);
    const distance = Math.max(
      ...sorted.map((gap, index) => Math.abs(1 - Math.exp(-rate * gap) - (index + 1) / sorted.length)),
    );
    expect(distance).toBeGreaterThan(1.63 / Math.sqrt(sorted.length));
  });

  it('constant arrivals are evenly spaced, and the same seed reproduces the same Poisson schedule', () => {
    expect(new Set(gaps(20, 'constant', 10, 1).map((gap) => gap.toFixed(9)))).toEqual(new Set(['50.000000000']));
    expect(gaps(20, 'poisson', 50, 3)).toEqual(gaps(20, 'poisson', 50, 3));
    expect(gaps(20, 'poisson', 50, 3)).not.toEqual(gaps(20, 'poisson', 50, 4));
  });

  it('rejects non-positive rates', () => {
    expect(() => createArrivalSchedule(0, 'poisson', createRng(1))).toThrow(/positive/);
    expect(() => createArrivalSchedule(-3, 'constant', createRng(1))).toThrow(/positive/);
  });
});

describe('open loop against a fake upstream', () => {
  let upstream: FakeUpstream;
  beforeAll(async () => {
    upstream = await startFakeUpstream({ ...LOAD_TEST_SHAPE, ttftMs: 2, itlMs: 1 });
  });
  afterAll(() => upstream.close());

  it('sends on schedule: the achieved rate matches and requests overlap regardless of completions', async () => {
    const config = BenchConfig.parse({
      baseUrl: upstream.baseURL,
      model: 'fake',
      mode: { kind: 'open', rate: 100, arrival: 'constant' },
      workload: { kind: 'synthetic', input: { kind: 'fixed', value: 16 }, output: { kind: 'fixed', value: 4 } },
      requests: 40,
      warmupRequests: 4,
    });
    const result = await runBenchmark(config);
    const records = result.runs[0]?.records ?? [];
    expect(records).toHaveLength(40);
    const starts = records.map((record) => record.startMs);
    const achievedRate = (records.length - 1) / (((starts.at(-1) ?? 0) - (starts[0] ?? 0)) / 1000);
    expect(achievedRate / 100).toBeGreaterThan(0.85);
    expect(achievedRate / 100).toBeLessThan(1.15);
    const lag = result.runs[0]?.summary.sendLagMs;
    expect(lag?.count).toBe(40);
    // Never early: a send waits for its scheduled time (lateness depends on the machine's load, so it is not bounded here).
    expect(Math.min(...records.map((record) => record.startMs - (record.scheduledMs ?? 0)))).toBeGreaterThanOrEqual(0);
    // Open loop: with arrivals every 10 ms and ~4 ms responses the upstream saw them as a stream, not a burst.
    expect(upstream.requestCount()).toBe(44);
  });
});
