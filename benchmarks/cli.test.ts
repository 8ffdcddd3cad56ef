import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerBenchmarkCommands } from './cli.ts';
import { LOAD_TEST_SHAPE, type FakeUpstream, startFakeUpstream } from '../core/testing/fake-upstream.ts';

async function run(args: string[]): Promise<{ errors: string; output: string; exitCode: number | undefined }> {
  const program = new Command('switchyard').exitOverride();
  registerBenchmarkCommands(program);
  const errors: string[] = [];
  const output: string[] = [];
  const errorSpy = vi
    .spyOn(console, 'error')
    .mockImplementation((...parts: unknown[]) => void errors.push(parts.join(' ')));
  const logSpy = vi
    .spyOn(console, 'log')
    .mockImplementation((...parts: unknown[]) => void output.push(parts.join(' ')));
  process.exitCode = undefined;
  try {
    await program.parseAsync(['node', 'switchyard', ...args]);
  } finally {
    errorSpy.mockRestore();
    logSpy.mockRestore();
  }
  const exitCode = typeof process.exitCode === 'number' ? process.exitCode : undefined;
  process.exitCode = undefined;
  return { errors: errors.join('\n'), output: output.join('\n'), exitCode };
}

describe('switchyard bench / breakeven CLI', () => {
  let upstream: FakeUpstream;
  let directory: string;
  beforeAll(async () => {
    upstream = await startFakeUpstream({ ...LOAD_TEST_SHAPE, ttftMs: 3, itlMs: 1 });
    directory = await mkdtemp(join(tmpdir(), 'switchyard-cli-'));
  });
  afterAll(async () => {
    await upstream.close();
    await rm(directory, { recursive: true, force: true });
  });
  afterEach(() => {
    process.exitCode = undefined;
  });

  it('bench writes a result JSON and an HTML report; breakeven costs it; compare prints deltas', async () => {
    const resultPath = join(directory, 'run.json');
    const bench = await run([
      'bench',
      '--base-url',
      upstream.baseURL,
      '--sweep',
      '1,2',
      '--requests',
      '6',
      '--input-len',
      '64',
      '--output-len',
      '8',
      '--goodput',
      'ttft:500',
      'tpot:50',
      '--out',
      resultPath,
      '--no-progress',
    ]);
    expect(bench.errors).toBe('');
    expect(bench.output).toContain('concurrency 2');
    expect(bench.output).toContain('Request goodput (req/s):');
    const saved = JSON.parse(await readFile(resultPath, 'utf8')) as { config: { model: string }; runs: unknown[] };
    expect(saved.config.model).toBe('fake'); // from /v1/models
    expect(saved.runs).toHaveLength(2);
    expect(await readFile(join(directory, 'run.html'), 'utf8')).toContain('<svg class="chart"');

    const compare = await run(['bench', 'compare', resultPath, resultPath]);
    expect(compare.output).toContain('TTFT p99 (ms)');
    expect(compare.output).toContain('+0.00');

    const out = join(directory, 'breakeven');
    const breakeven = await run([
      'breakeven',
      '--model',
      'llama-3.1-8b',
      '--gpu',
      'a100-80gb',
      '--from-bench',
      resultPath,
      '--out',
      out,
    ]);
    expect(breakeven.errors).toBe('');
    expect(breakeven.output).toContain('common cost claims, rechecked:');
    expect(breakeven.output).toMatch(/measured: .*run\.json/);
    expect((await readdir(out)).sort()).toEqual([
      'breakeven.html',
      'breakeven.json',
      'cost-vs-utilization.svg',
      'monthly-vs-requests.svg',
    ]);
  });

  it('bench runs every workload kind, the completions endpoint and non-streaming requests', async () => {
    const fixtures = join(import.meta.dirname, 'loadgen', 'fixtures');
    const common = [
      'bench',
      '--base-url',
      upstream.baseURL,
      '--model',
      'fake',
      '--requests',
      '3',
      '--no-html',
      '--no-progress',
      '--output-len',
      '4',
    ];
    const cases = [
      ['--dataset', 'sharegpt', '--dataset-path', join(fixtures, 'sharegpt-sample.json')],
      ['--dataset', 'jsonl', '--dataset-path', join(fixtures, 'prompts.jsonl'), '--endpoint', 'completions'],
      ['--dataset', 'rag', '--rag-contexts', '2', '--rag-context-len', '200', '--no-stream'],
      ['--rate', '50', '--arrival', 'constant', '--max-concurrency', '2', '--input-len', 'normal:40:5'],
    ];
    for (const [index, extra] of cases.entries()) {
      const out = join(directory, `kind-${index}.json`);
      const result = await run([...common, ...extra, '--out', out]);
      expect(result.errors).toBe('');
      const saved = JSON.parse(await readFile(out, 'utf8')) as {
        runs: { records: { success: boolean; outputTokens: number }[] }[];
      };
      expect(saved.runs[0]?.records.map((record) => [record.success, record.outputTokens])).toEqual([
        [true, 4],
        [true, 4],
        [true, 4],
      ]);
    }
  });

  it('estimated capacity, given prices and a fixed fleet', async () => {
    const result = await run([
      'breakeven',
      '--model',
      'llama-3.1-70b',
      '--gpu',
      'a100-80gb',
      '--gpus',
      '4',
      '--replicas',
      '2',
      '--gpu-hourly',
      '1.2',
      '--utilization',
      '60%',
      '--requests-per-day',
      '100000',
      '--json',
      '--out',
      join(directory, 'b2'),
    ]);
    const report = JSON.parse(result.output) as {
      gpusPerReplica: number;
      utilization: number;
      results: { replicas: number; replicaHourly: number };
    };
    expect(report.gpusPerReplica).toBe(4);
    expect(report.utilization).toBe(0.6);
    expect(report.results.replicas).toBe(2);
    expect(report.results.replicaHourly).toBeCloseTo(4.8, 9);
  });

  it.each([
    [['breakeven', '--model', 'gpt-9', '--gpu', 'h100'], /unknown model "gpt-9"/],
    [['breakeven', '--model', 'llama-3.1-8b', '--gpu', 'tpu-v5'], /unknown GPU "tpu-v5"/],
    [
      ['breakeven', '--model', 'llama-3.1-8b', '--gpu', 'h100', '--requests-per-day=-5'],
      /--requests-per-day: "-5" must be a number ≥ 0/,
    ],
    [['breakeven', '--model', 'llama-3.1-8b', '--gpu', 'h100', '--utilization', '150%'], /above 100%/],
    [['breakeven', '--model', 'llama-3.1-8b', '--gpu', 'h100', '--api-model', 'gpt-7'], /unknown API model "gpt-7"/],
    [['breakeven', '--model', 'llama-3.1-70b', '--gpu', 'a10g', '--gpus', '1'], /does not fit/],
    [
      ['breakeven', '--model', 'llama-3.1-8b', '--gpu', 'h100', '--from-bench', '/nonexistent/r.json'],
      /cannot read bench result \/nonexistent\/r\.json/,
    ],
    [['breakeven', '--gpu', 'h100'], /--model and --gpu are required \(except with --live/],
    [['breakeven', '--live', '--window', '-5s'], /--window: "-5s" is not a duration/],
    [
      ['breakeven', '--live', '--model', 'llama-3.1-8b', '--from-bench', 'r.json'],
      /live mode reads pools.*: drop --model, --from-bench/,
    ],
    [['breakeven', '--scrapes', '/nonexistent/a.prom'], /--scrapes takes two files/],
    [
      ['bench', '--base-url', 'http://127.0.0.1:9/v1', '--model', 'm', '--rate=-3', '--requests', '1'],
      /--rate: "-3" must be a number > 0/,
    ],
    [
      ['bench', '--base-url', 'http://127.0.0.1:9/v1', '--model', 'm', '--concurrency', '0', '--requests', '1'],
      /--concurrency: "0" must be an integer ≥ 1/,
    ],
    [['bench', '--base-url', 'http://127.0.0.1:9/v1', '--model', 'm'], /stops by itself/],
    [
      ['bench', '--base-url', 'http://127.0.0.1:9/v1', '--model', 'm', '--requests', '1', '--goodput', 'speed:3'],
      /unknown SLO "speed"/,
    ],
    [['bench', 'compare', '/nonexistent/a.json', '/nonexistent/b.json'], /cannot read bench result/],
  ])('bad input %j → a clear error and exit code 2', async (args, message) => {
    const result = await run(args);
    expect(result.errors).toMatch(message);
    expect(result.errors.startsWith('error: ')).toBe(true);
    expect(result.exitCode).toBe(2);
  });

  it('an unreachable target fails clearly instead of hanging', async () => {
    const result = await run([
      'bench',
      '--base-url',
      'http://127.0.0.1:9/v1',
      '--model',
      'm',
      '--requests',
      '2',
      '--no-html',
      '--out',
      join(directory, 'down.json'),
    ]);
    expect(result.errors).toMatch(/every request failed .*connection/);
    expect(result.exitCode).toBe(1);
  });
});
