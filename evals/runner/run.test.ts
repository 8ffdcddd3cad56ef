// End to end through `evalRun` (what `switchyard eval run` calls): the sample suite, a scripted target and judge
// behind real HTTP servers, the real openai SDK, the file cache, reports on disk.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { evalRun, type RunCommandOptions } from '../commands/run.ts';
import type { RunReport } from '../report/types.ts';
import type { FakeUpstream } from '../../core/testing/fake-upstream.ts';
import {
  alwaysFirstJudge,
  consistentJudge,
  scriptedTarget,
  startScriptedOpenAI,
  type FakeResponder,
} from '../testing/scripted.ts';
import { silentProgress } from './progress.ts';

const SUITE = join(import.meta.dirname, '..', 'samples', 'suite.yaml');
let directory: string;
const servers: FakeUpstream[] = [];

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'switchyard-evals-'));
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await rm(directory, { recursive: true, force: true });
});

async function serve(responder: FakeResponder): Promise<FakeUpstream> {
  const server = await startScriptedOpenAI(responder);
  servers.push(server);
  return server;
}

async function run(target: FakeUpstream, judge: FakeUpstream, extra: Partial<RunCommandOptions> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const outDirectory = join(directory, String(extra.out ?? 'out'));
  const code = await evalRun(
    {
      suite: SUITE,
      target: target.baseURL,
      model: 'target-model',
      judgeModel: 'judge-model',
      judgeUrl: judge.baseURL,
      embedder: 'hashed',
      cacheDir: join(directory, 'cache'),
      ...extra,
      out: outDirectory,
    },
    { stdout: (text) => out.push(text), stderr: (text) => err.push(text), progress: silentProgress },
  );
  const report = JSON.parse(
    await readFile(join(outDirectory, 'report.json'), 'utf8').catch(() => 'null'),
  ) as RunReport | null;
  return { code, out: out.join('\n'), err: err.join('\n'), report };
}

describe('eval run end to end', () => {
  it('runs all four stages and writes JSON and HTML reports', async () => {
    const target = await serve(scriptedTarget());
    const judge = await serve(consistentJudge());
    const { code, out, err, report } = await run(target, judge);
    expect(err).toMatch(/hashed bag-of-words/);
    expect(code).toBe(0);
    if (!report) throw new Error('no report');
    const stages = new Set(report.summary.metrics.map((metric) => metric.stage));
    expect([...stages].sort()).toEqual(['deterministic', 'judge', 'retrieval', 'semantic']);
    expect(report.summary.errors).toBe(0);
    const failing = report.summary.metrics.filter((metric) => metric.passRate < 1).map((metric) => metric.id);
    expect(failing).toEqual([]);
    // Output and reference both say Paris: a tie in both orders, so no verdict named a position.
    expect(report.summary.judge).toEqual({ pairwiseComparisons: 1, flips: 0, flipRate: 0, firstPositionRate: null });
    expect(report.suite.hash).toMatch(/^sha256:[0-9a-f]{12}$/);
    expect(report.judge?.promptVersions['pairwise']).toMatch(/^pairwise@sha256:/);
    expect(report.embedder).toEqual({ id: 'hashed-bow-512-v1', fallback: true });
    expect(target.requestCount()).toBe(5);
    // pairwise: 2 orders; rubric: 1 call.
    expect(judge.requestCount()).toBe(3);
    expect(out).toMatch(/cases passing every metric: 100\.0%/);
    expect(report.calls.judgeCalls).toBe(3);
    const html = await readFile(join(directory, 'out', 'report.html'), 'utf8');
    expect(html).toContain('<h1>Eval report: sample</h1>');
    expect(html).toContain('judge flip rate');
  });

  it('a repeated run is served from the cache: no model or judge calls', async () => {
    const target = await serve(scriptedTarget());
    const judge = await serve(consistentJudge());
    await run(target, judge);
    const [targetCalls, judgeCalls] = [target.requestCount(), judge.requestCount()];
    const second = await run(target, judge, { out: 'second' });
    expect(target.requestCount()).toBe(targetCalls);
    expect(judge.requestCount()).toBe(judgeCalls);
    expect(second.report?.calls).toEqual({ targetCalls: 0, targetCacheHits: 5, judgeCalls: 0 });
    expect(second.out).toMatch(/target calls: 0, cache hits: 5, judge calls: 0/);
    expect(second.report?.summary.metrics).toEqual(
      (await run(target, judge, { out: 'third' })).report?.summary.metrics,
    );
    // --no-cache calls everything again.
    await run(target, judge, { out: 'fourth', cache: false });
    expect(target.requestCount()).toBe(targetCalls + 5);
  });

  it('a judge that always picks the first answer yields ties and a 100% flip rate', async () => {
    const target = await serve(scriptedTarget());
    const judge = await serve(alwaysFirstJudge());
    const { report, out } = await run(target, judge);
    const pairwise = report?.results
      .find((result) => result.caseId === 'capital-france')
      ?.metrics.find((m) => m.id === 'pairwise');
    expect(pairwise).toMatchObject({ score: 0.5, details: { flipped: true, result: 'tie' } });
    expect(report?.summary.judge.flipRate).toBe(1);
    expect(report?.summary.judge.firstPositionRate).toBe(1);
    expect(out).toMatch(/flip rate 100\.0%/);
  });

  it('records target errors and invalid judge output as failed metrics, never a crash', async () => {
    const target = await serve((body) =>
      JSON.stringify(body.messages).includes('Ada Lovelace')
        ? { status: 400, message: 'bad request' }
        : scriptedTarget()(body),
    );
    const judge = await serve(() => 'no JSON here at all');
    const { code, report, out } = await run(target, judge, { judgeRetries: 1 });
    // Failed metrics are failed thresholds: exit 1, naming them.
    expect(code).toBe(1);
    expect(out).toMatch(/thresholds: \d+ gated metric\(s\) failed \(.*user-json:json-schema.*\): exit 1/);
    const failed = report?.results.find((result) => result.caseId === 'user-json');
    expect(failed?.error).toMatch(/bad request/);
    expect(failed?.metrics.every((metric) => !metric.pass && metric.reason.startsWith('target error'))).toBe(true);
    const rubric = report?.results
      .find((result) => result.caseId === 'refund-policy')
      ?.metrics.find((m) => m.id === 'rubric');
    expect(rubric).toMatchObject({ pass: false, score: 0 });
    expect(rubric?.reason).toMatch(/judge output invalid after 2 attempt\(s\)/);
  });

  it('--repeat reports flaky cases; concurrency bounds the requests in flight', async () => {
    let call = 0;
    const target = await serve(async (body) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const flaky = /capital of France/.test(JSON.stringify(body.messages)) && call++ % 2 === 1;
      return flaky ? 'Lyon.' : scriptedTarget()(body);
    });
    const judge = await serve(consistentJudge());
    const { report } = await run(target, judge, { repeat: 3, concurrency: 2 });
    expect(report?.results).toHaveLength(15);
    expect(target.maxInFlight()).toBeLessThanOrEqual(2);
    expect(
      report?.summary.flaky.some((entry) => entry.caseId === 'capital-france' && entry.metricId === 'contains'),
    ).toBe(true);
    const contains = report?.summary.metrics.find((metric) => metric.id === 'contains');
    expect(contains?.flakyRate).toBe(1);
    // Every case but the flaky one answered identically on all three repeats.
    expect(report?.summary.identicalOutputRate).toBe(4 / 5);
  });

  it('writes a human review file with every flagged case plus a sampled share', async () => {
    const target = await serve(scriptedTarget([[/capital of France/, 'Lyon.']]));
    const judge = await serve(consistentJudge());
    const reviewOut = join(directory, 'review.jsonl');
    const { out } = await run(target, judge, { reviewShare: 0.5, reviewOut });
    const items = (await readFile(reviewOut, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { caseId: string; flagged: boolean });
    expect(items.filter((item) => item.flagged).map((item) => item.caseId)).toEqual(['capital-france']);
    expect(items.length).toBe(1 + Math.ceil(0.5 * 4));
    expect(out).toMatch(/human review: 3 item\(s\) \(1 flagged\)/);
  });

  it('pairwise against a compare target: the better model wins in both orders', async () => {
    const { mkdtemp: makeDirectory, writeFile } = await import('node:fs/promises');
    const suiteDirectory = await makeDirectory(join(directory, 'suite-'));
    await writeFile(
      join(suiteDirectory, 'cases.jsonl'),
      `${JSON.stringify({ id: 'capital', input: { prompt: 'What is the capital of France?' }, assertions: [{ type: 'pairwise', against: 'compare-target', passOn: 'win' }] })}\n`,
    );
    const candidate = await serve(scriptedTarget());
    const other = await serve(scriptedTarget([[/capital of France/, 'Lyon, I think.']]));
    const judge = await serve(consistentJudge('Paris'));
    const { report, err } = await run(candidate, judge, {
      suite: join(suiteDirectory, 'cases.jsonl'),
      compareModel: 'other-model',
      compareTarget: other.baseURL,
    });
    expect(err).not.toMatch(/warning/);
    expect(report?.compare).toEqual({ label: other.baseURL, model: 'other-model' });
    expect(other.requests[0]?.model).toBe('other-model');
    expect(report?.results[0]?.metrics[0]).toMatchObject({
      id: 'pairwise',
      pass: true,
      score: 1,
      details: { flipped: false, result: 'candidate' },
    });
  });

  it('warns when the suite has judge metrics but no judge model', async () => {
    const target = await serve(scriptedTarget());
    const { err, report } = await run(target, target, { judgeModel: undefined });
    expect(err).toMatch(/judge metrics but no --judge-model/);
    const rubric = report?.summary.metrics.find((metric) => metric.id === 'rubric');
    expect(rubric?.passRate).toBe(0);
  });

  it('exits 2 when every target call failed (misconfiguration, not a quality result)', async () => {
    const down = await serve(() => ({ status: 404, message: 'The model `target-model` does not exist.' }));
    const { code, err } = await run(down, down, { retries: 0 });
    expect(code).toBe(2);
    expect(err).toMatch(
      /every target call failed \(first: model target-model: 404 The model `target-model` does not exist/,
    );
  });

  it('bad suites and options exit 2 with a clear message', async () => {
    const target = await serve(scriptedTarget());
    const result = await run(target, target, { suite: join(directory, 'missing.yaml') });
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/cannot read suite/);
    const url = await run(target, target, { model: undefined });
    expect(url.code).toBe(2);
    expect(url.err).toMatch(/--model/);
    const bad = await run(target, target, { concurrency: 0 });
    expect(bad.code).toBe(2);
  });
});
