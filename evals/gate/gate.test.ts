// The CI gate: unit checks of evaluateGate, then `switchyard eval baseline save` and `switchyard eval run
// --baseline` through the commander wiring, checking the exit codes CI sees. (In-process: a child process of the
// whole CLI takes 10-20 s to start on this shared machine.)
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerEvalCommands } from '../cli.ts';
import { summarize } from '../report/summary.ts';
import type { CaseResult, RunReport } from '../report/types.ts';
import type { FakeUpstream } from '../../core/testing/fake-upstream.ts';
import { consistentJudge, scriptedTarget, startScriptedOpenAI } from '../testing/scripted.ts';
import { baselineFromReport, BaselineSchema, evaluateGate } from './baseline.ts';

function reportWith(passes: Record<string, boolean[]>, hash = 'sha256:aaaaaaaaaaaa'): RunReport {
  const caseCount = Math.max(...Object.values(passes).map((list) => list.length));
  const results: CaseResult[] = Array.from({ length: caseCount }, (_unused, index) => {
    const metrics = Object.entries(passes).map(([id, list]) => ({
      id,
      type: 'contains',
      stage: 'deterministic' as const,
      gate: id !== 'ungated',
      pass: list[index] ?? false,
      score: list[index] ? 1 : 0,
      reason: '',
    }));
    return {
      caseId: `c${index}`,
      repeat: 0,
      tags: [],
      input: '',
      output: '',
      cached: false,
      latencyMs: 0,
      metrics,
      passed: metrics.every((m) => m.pass),
    };
  });
  return {
    schemaVersion: 1,
    runId: 'r',
    startedAt: '',
    finishedAt: '',
    suite: { name: 's', path: '', hash, cases: caseCount },
    target: { label: 'l', model: 'm' },
    compare: null,
    judge: null,
    embedder: { id: 'e', fallback: true },
    repeat: 1,
    concurrency: 1,
    calls: { targetCalls: 0, targetCacheHits: 0 },
    results,
    summary: summarize(results),
  };
}

const rate = (passing: number, total = 100) => Array.from({ length: total }, (_unused, index) => index < passing);

describe('evaluateGate', () => {
  const baseline = baselineFromReport(reportWith({ accuracy: rate(90), ungated: rate(90) }));

  it('passes within the tolerance (boundary included) and fails beyond it', () => {
    expect(evaluateGate(reportWith({ accuracy: rate(87) }), baseline, { tolerance: 0.03, on: 'pass-rate' }).pass).toBe(
      true,
    );
    const worse = evaluateGate(reportWith({ accuracy: rate(86) }), baseline, { tolerance: 0.03, on: 'pass-rate' });
    expect(worse.pass).toBe(false);
    expect(worse.checks).toEqual([
      { metricId: 'accuracy', measure: 'passRate', candidate: 0.86, baseline: 0.9, threshold: 0.9 - 0.03, pass: false },
    ]);
  });

  it('ignores metrics with gate: false, fails gated metrics that disappeared, warns about new ones and suite changes', () => {
    const result = evaluateGate(reportWith({ ungated: rate(0), brandNew: rate(10) }, 'sha256:bbbbbbbbbbbb'), baseline, {
      tolerance: 0.03,
      on: 'both',
    });
    expect(result.checks.map((check) => [check.metricId, check.measure, check.candidate, check.pass])).toEqual([
      ['accuracy', 'passRate', null, false],
      ['accuracy', 'meanScore', null, false],
    ]);
    expect(result.warnings.join('\n')).toMatch(/suite changed since the baseline/);
    expect(result.warnings.join('\n')).toMatch(/metric brandNew is not in the baseline/);
  });

  it('threshold mode needs no baseline', () => {
    expect(
      evaluateGate(reportWith({ accuracy: rate(95) }), null, { tolerance: 0, on: 'pass-rate', minPassRate: 0.95 }).pass,
    ).toBe(true);
    expect(
      evaluateGate(reportWith({ accuracy: rate(94) }), null, { tolerance: 0, on: 'pass-rate', minPassRate: 0.95 }).pass,
    ).toBe(false);
    const named = evaluateGate(reportWith({ accuracy: rate(95) }), null, {
      tolerance: 0,
      on: 'pass-rate',
      minPassRate: 0.5,
      metrics: ['missing'],
    });
    expect(named.pass).toBe(false);
  });

  it('baseline files round-trip through their schema', () => {
    expect(BaselineSchema.parse(JSON.parse(JSON.stringify(baseline)))).toEqual(baseline);
  });
});

const SUITE = join(import.meta.dirname, '..', 'samples', 'suite.yaml');

/** Runs `switchyard eval …` in-process through the same commander wiring as bin/cli.ts; returns the exit code. */
async function cli(args: string[]): Promise<{ code: number; stdout: string }> {
  const program = new Command('switchyard').exitOverride();
  registerEvalCommands(program);
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  const previous = process.exitCode;
  process.exitCode = 0;
  try {
    await program.parseAsync(['node', 'switchyard', ...args]);
    return { code: Number(process.exitCode ?? 0), stdout: lines.join('') };
  } finally {
    process.stdout.write = write;
    process.exitCode = previous;
  }
}

describe('switchyard eval run --baseline (commander wiring, exit codes)', () => {
  let directory: string;
  let good: FakeUpstream;
  let worse: FakeUpstream;
  let judge: FakeUpstream;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'switchyard-gate-'));
    good = await startScriptedOpenAI(scriptedTarget());
    // The candidate breaks the JSON case: json-schema and required-fields drop from 100% to 0%.
    worse = await startScriptedOpenAI(scriptedTarget([[/Ada Lovelace/, 'Name: Ada, age 36']]));
    judge = await startScriptedOpenAI(consistentJudge());
  });
  afterAll(async () => {
    await Promise.all([good.close(), worse.close(), judge.close()]);
    await rm(directory, { recursive: true, force: true });
  });

  const common = () => [
    'eval',
    'run',
    '--suite',
    SUITE,
    '--model',
    'm',
    '--judge-model',
    'j',
    '--judge-url',
    judge.baseURL,
    '--embedder',
    'hashed',
    '--no-progress',
    '--cache-dir',
    join(directory, 'cache'),
  ];

  it('saves a baseline, then exits 1 for a worse candidate and 0 within tolerance', async () => {
    const first = await cli([...common(), '--target', good.baseURL, '--out', join(directory, 'base')]);
    expect(first.code).toBe(0);
    const saved = await cli([
      'eval',
      'baseline',
      'save',
      '--report',
      join(directory, 'base', 'report.json'),
      '--out',
      join(directory, 'baseline.json'),
    ]);
    expect(saved.code).toBe(0);
    expect(JSON.parse(await readFile(join(directory, 'baseline.json'), 'utf8'))).toMatchObject({
      schemaVersion: 1,
      metrics: { 'json-schema': { passRate: 1 } },
    });

    const same = await cli([
      ...common(),
      '--target',
      good.baseURL,
      '--out',
      join(directory, 'same'),
      '--baseline',
      join(directory, 'baseline.json'),
      '--tolerance',
      '0.03',
    ]);
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/gate: passed/);

    const regressed = await cli([
      ...common(),
      '--target',
      worse.baseURL,
      '--out',
      join(directory, 'worse'),
      '--baseline',
      join(directory, 'baseline.json'),
      '--tolerance',
      '0.03',
    ]);
    expect(regressed.code).toBe(1);
    expect(regressed.stdout).toMatch(/FAIL json-schema passRate 0\.0000 ≥ 0\.9700 \(baseline 1\.0000\)/);
    expect(regressed.stdout).toMatch(/gate: FAILED/);

    // The same drop is inside a tolerance of 1.
    const tolerant = await cli([
      ...common(),
      '--target',
      worse.baseURL,
      '--out',
      join(directory, 'tolerant'),
      '--baseline',
      join(directory, 'baseline.json'),
      '--tolerance',
      '1',
    ]);
    expect(tolerant.code).toBe(0);
  });

  it('threshold mode: --min-pass-rate exits 1 when a gated metric is below it', async () => {
    const result = await cli([
      ...common(),
      '--target',
      worse.baseURL,
      '--out',
      join(directory, 'threshold'),
      '--min-pass-rate',
      '0.9',
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAIL required-fields passRate/);
  });

  it('bad options exit 2', async () => {
    const result = await cli([
      ...common(),
      '--target',
      good.baseURL,
      '--out',
      join(directory, 'bad'),
      '--tolerance',
      '7',
    ]);
    expect(result.code).toBe(2);
  });
});
