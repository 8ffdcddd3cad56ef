import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BenchConfig, type BenchConfigInput } from './config.ts';
import { InvalidInputError } from './errors.ts';
import { LOAD_TEST_SHAPE, type FakeUpstream, startFakeUpstream } from '../../core/testing/fake-upstream.ts';
import { readResult, writeResult } from './result-file.ts';
import { runBenchmark } from './runner.ts';
import { compareResults, formatComparison, formatRun, formatSweep } from './table.ts';

const synthetic = {
  kind: 'synthetic',
  input: { kind: 'fixed', value: 32 },
  output: { kind: 'fixed', value: 6 },
} as const;

describe('runBenchmark against a fake upstream', () => {
  let upstream: FakeUpstream;
  let directory: string;
  const config = (overrides: Partial<BenchConfigInput>) =>
    BenchConfig.parse({
      baseUrl: upstream.baseURL,
      model: 'fake',
      mode: { kind: 'closed', concurrency: 1 },
      workload: synthetic,
      ...overrides,
    });

  beforeAll(async () => {
    upstream = await startFakeUpstream({ ...LOAD_TEST_SHAPE, ttftMs: 5, itlMs: 2 });
    directory = await mkdtemp(join(tmpdir(), 'switchyard-bench-'));
  });
  afterAll(async () => {
    await upstream.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('closed loop keeps exactly N requests in flight and stops at the request count; warm-up is not recorded', async () => {
    const before = upstream.requestCount();
    const result = await runBenchmark(
      config({ mode: { kind: 'closed', concurrency: 4 }, requests: 24, warmupRequests: 3 }),
    );
    const run = result.runs[0];
    expect(run?.records).toHaveLength(24);
    expect(run?.records.map((record) => record.index)).toEqual(Array.from({ length: 24 }, (_, index) => index));
    expect(upstream.requestCount() - before).toBe(27);
    expect(upstream.maxInFlight()).toBe(4);
    expect(run?.summary.completed).toBe(24);
    expect(run?.summary.totalOutputTokens).toBe(24 * 6);
    expect(formatRun(run ?? (undefined as never))).toContain('Successful requests:');
  });

  it('a duration bound stops the run by itself, and the drain timeout cancels stragglers', async () => {
    const slow = await startFakeUpstream({ ...LOAD_TEST_SHAPE, ttftMs: 5, itlMs: 400 });
    try {
      const started = Date.now();
      const result = await runBenchmark(
        BenchConfig.parse({
          baseUrl: slow.baseURL,
          model: 'fake',
          mode: { kind: 'closed', concurrency: 2 },
          workload: { ...synthetic, output: { kind: 'fixed', value: 20 } },
          durationS: 0.3,
          drainTimeoutS: 0.2,
        }),
      );
      // Each request would take ~8 s; the run ends after duration + drain instead.
      expect(Date.now() - started).toBeLessThan(4000);
      const summary = result.runs[0]?.summary;
      expect(summary?.cancelled).toBe(2);
      expect(summary?.failed).toBe(0);
      expect(summary?.completed).toBe(0);
    } finally {
      await slow.close();
    }
  });

  it('a sweep runs one step per ladder level with the same prompts, and the result file round-trips', async () => {
    const result = await runBenchmark(
      config({
        mode: { kind: 'open', rate: 50, arrival: 'constant' },
        sweep: [20, 80],
        requests: 10,
        goodput: { ttft: 1000 },
      }),
    );
    expect(result.runs.map((run) => run.label)).toEqual(['constant 20 req/s', 'constant 80 req/s']);
    expect(result.runs[0]?.records.map((record) => record.promptTokens)).toEqual(
      result.runs[1]?.records.map((record) => record.promptTokens),
    );
    expect(result.runs[1]?.summary.requestGoodput).not.toBeNull();
    // Four times the rate: the second step's sends span about a quarter of the time.
    const span = (index: number) => {
      const starts = result.runs[index]?.records.map((record) => record.startMs) ?? [];
      return Math.max(...starts) - Math.min(...starts);
    };
    expect(span(0) / span(1)).toBeGreaterThan(2);
    expect(formatSweep(result)).toContain('constant 80 req/s');

    const path = join(directory, 'sweep.json');
    await writeResult(result, path);
    const loaded = await readResult(path);
    expect(loaded.runs[1]?.summary).toEqual(result.runs[1]?.summary);
    expect(loaded.config).toEqual(result.config);
  });

  it('compare reports deltas per step and flags better/worse', async () => {
    const fast = await runBenchmark(config({ requests: 6 }));
    const slowUpstream = await startFakeUpstream({ ...LOAD_TEST_SHAPE, ttftMs: 40, itlMs: 2 });
    try {
      const slower = await runBenchmark({ ...fast.config, baseUrl: slowUpstream.baseURL });
      const deltas = compareResults(fast, slower);
      const ttft = deltas.find((delta) => delta.metric === 'TTFT p50 (ms)');
      expect(ttft?.delta ?? 0).toBeGreaterThan(20);
      expect(ttft?.better).toBe(false);
      const throughput = deltas.find((delta) => delta.metric === 'request throughput (req/s)');
      expect(throughput?.better).toBe(false);
      expect(formatComparison(deltas)).toContain('TTFT p50 (ms)');
    } finally {
      await slowUpstream.close();
    }
  });

  it('unreadable or malformed result files are clear input errors', async () => {
    await expect(readResult(join(directory, 'missing.json'))).rejects.toThrow(/cannot read bench result/);
    const garbage = join(directory, 'garbage.json');
    await writeFile(garbage, '{"version": 2}');
    await expect(readResult(garbage)).rejects.toBeInstanceOf(InvalidInputError);
    await expect(readResult(garbage)).rejects.toThrow(/not a switchyard bench result/);
    await writeFile(garbage, 'not json');
    await expect(readResult(garbage)).rejects.toThrow(/is not JSON/);
  });

  it('the config refuses unbounded runs and TTFT SLOs without streaming', () => {
    expect(() =>
      BenchConfig.parse({
        baseUrl: upstream.baseURL,
        model: 'm',
        mode: { kind: 'closed', concurrency: 1 },
        workload: synthetic,
      }),
    ).toThrow(/stops by itself/);
    expect(() =>
      BenchConfig.parse({
        baseUrl: upstream.baseURL,
        model: 'm',
        mode: { kind: 'open', rate: -1 },
        workload: synthetic,
        requests: 1,
      }),
    ).toThrow();
    expect(() =>
      BenchConfig.parse({
        baseUrl: upstream.baseURL,
        model: 'm',
        mode: { kind: 'closed', concurrency: 1 },
        workload: synthetic,
        requests: 1,
        stream: false,
        goodput: { ttft: 5 },
      }),
    ).toThrow(/need streaming/);
  });
});
