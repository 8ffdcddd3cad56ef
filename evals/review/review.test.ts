import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { evalReviewAgreement, evalReviewSample } from '../commands/other.ts';
import { summarize } from '../report/summary.ts';
import type { CaseResult, RunReport } from '../report/types.ts';
import { cohensKappa, computeAgreement, fleissKappa, readAnnotations } from './agreement.ts';
import { formatReviewFile, selectForReview } from './sample.ts';

describe("Cohen's and Fleiss' kappa, hand-computed", () => {
  it("Cohen's kappa on a 2×2 table (a=20 yes/yes, b=5, c=10, d=15 no/no)", () => {
    const pairs: Array<[string, string]> = [
      ...Array.from({ length: 20 }, (): [string, string] => ['yes', 'yes']),
      ...Array.from({ length: 5 }, (): [string, string] => ['yes', 'no']),
      ...Array.from({ length: 10 }, (): [string, string] => ['no', 'yes']),
      ...Array.from({ length: 15 }, (): [string, string] => ['no', 'no']),
    ];
    // pₒ = 35/50 = 0.7; pₑ = (25/50)(30/50) + (25/50)(20/50) = 0.3 + 0.2 = 0.5; κ = 0.2/0.5 = 0.4
    expect(cohensKappa(pairs)).toBeCloseTo(0.4, 12);
    expect(
      cohensKappa([
        ['a', 'a'],
        ['b', 'b'],
      ]),
    ).toBe(1);
    expect(
      cohensKappa([
        ['a', 'a'],
        ['a', 'a'],
      ]),
    ).toBeNull();
    expect(cohensKappa([])).toBeNull();
  });

  it("Fleiss' kappa: 3 raters, 4 items", () => {
    // items: [a,a,a] [a,a,b] [b,b,b] [a,b,b]; Pᵢ = 1, 1/3, 1, 1/3 → P̄ = 2/3
    // p(a) = 6/12, p(b) = 6/12 → P̄ₑ = 0.5; κ = (2/3 − 0.5)/(0.5) = 1/3
    const ratings = [
      ['a', 'a', 'a'],
      ['a', 'a', 'b'],
      ['b', 'b', 'b'],
      ['a', 'b', 'b'],
    ];
    expect(fleissKappa(ratings)).toBeCloseTo(1 / 3, 12);
    expect(fleissKappa([['x', 'x', 'x']])).toBeNull();
    expect(() => fleissKappa([['a', 'b'], ['a']])).toThrow(/same number/);
  });

  it('computeAgreement picks Cohen for two annotators, Fleiss for more, and warns below 0.7', () => {
    const two = computeAgreement([
      { itemId: '1', annotator: 'ann', label: 'good' },
      { itemId: '1', annotator: 'bob', label: 'good' },
      { itemId: '2', annotator: 'ann', label: 'bad' },
      { itemId: '2', annotator: 'bob', label: 'bad' },
      { itemId: '3', annotator: 'ann', label: 'bad' },
    ]);
    expect(two).toMatchObject({ method: 'cohen', kappa: 1, commonItems: 2, items: 3, warning: null });
    const three = computeAgreement(
      [
        ['a', 'a', 'a'],
        ['a', 'a', 'b'],
        ['b', 'b', 'b'],
        ['a', 'b', 'b'],
      ].flatMap((labels, item) =>
        labels.map((label, rater) => ({ itemId: String(item), annotator: `r${rater}`, label })),
      ),
    );
    expect(three.method).toBe('fleiss');
    expect(three.kappa).toBeCloseTo(1 / 3, 12);
    expect(three.pairwise).toHaveLength(3);
    expect(three.warning).toMatch(/below 0\.7/);
    expect(() => computeAgreement([{ itemId: '1', annotator: 'solo', label: 'x' }])).toThrow(/at least two annotators/);
  });
});

function report(results: Array<Partial<CaseResult> & { caseId: string; passed: boolean }>): RunReport {
  const full: CaseResult[] = results.map((result) => ({
    repeat: 0,
    tags: [],
    input: `question ${result.caseId}`,
    output: `answer, with "quotes"\nand a newline`,
    cached: false,
    latencyMs: 1,
    metrics: result.passed
      ? [{ id: 'contains', type: 'contains', stage: 'deterministic', gate: true, pass: true, score: 1, reason: 'ok' }]
      : [
          {
            id: 'contains',
            type: 'contains',
            stage: 'deterministic',
            gate: true,
            pass: false,
            score: 0,
            reason: 'missing',
          },
        ],
    ...result,
  }));
  return {
    schemaVersion: 1,
    runId: 'r',
    startedAt: '',
    finishedAt: '',
    suite: { name: 's', path: '', hash: 'h', cases: full.length },
    target: { label: '', model: '' },
    compare: null,
    judge: null,
    embedder: { id: 'e', fallback: true },
    repeat: 1,
    concurrency: 1,
    calls: { targetCalls: 0, targetCacheHits: 0 },
    results: full,
    summary: summarize(full),
  };
}

describe('review sampling and annotation import', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'switchyard-review-'));
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  const run = report([
    { caseId: 'bad', passed: false },
    ...Array.from({ length: 10 }, (_unused, index) => ({ caseId: `ok${index}`, passed: true })),
  ]);

  it('takes every flagged case plus a deterministic share of the rest', () => {
    const items = selectForReview(run, { share: 0.2, seed: 'x' });
    expect(items.filter((item) => item.flagged).map((item) => item.caseId)).toEqual(['bad']);
    expect(items).toHaveLength(1 + 2);
    expect(selectForReview(run, { share: 0.2, seed: 'x' })).toEqual(items);
    const other = selectForReview(run, { share: 0.2, seed: 'another seed' }).map((item) => item.caseId);
    expect(other).toHaveLength(3);
    expect(selectForReview(run, { share: 1, seed: 'x' })).toHaveLength(11);
    expect(() => selectForReview(run, { share: 2, seed: 'x' })).toThrow(RangeError);
  });

  it('CSV review files round-trip quotes and newlines; two annotators → Cohen', async () => {
    const items = selectForReview(run, { share: 1, seed: 'x' });
    const annotate = (annotator: string, label: (id: string) => string) =>
      formatReviewFile(
        items.map((item) => ({ ...item, annotator, label: label(item.caseId) })),
        'csv',
      );
    await writeFile(
      join(directory, 'ann.csv'),
      annotate('ann', (id) => (id === 'bad' ? 'fail' : 'pass')),
    );
    await writeFile(
      join(directory, 'bob.csv'),
      annotate('bob', (id) => (id === 'bad' || id === 'ok3' ? 'fail' : 'pass')),
    );
    const annotations = await readAnnotations([join(directory, 'ann.csv'), join(directory, 'bob.csv')]);
    expect(annotations).toHaveLength(22);
    const agreement = computeAgreement(annotations);
    // 10/11 agree; pₑ = (1/11)(2/11) + (10/11)(9/11) = 92/121; κ = (110/121 − 92/121)/(29/121) = 18/29
    expect(agreement.kappa).toBeCloseTo(18 / 29, 12);
    const csv = await readFile(join(directory, 'ann.csv'), 'utf8');
    expect(csv).toContain('"answer, with ""quotes""\nand a newline"');
    const lines: string[] = [];
    const code = await evalReviewAgreement([join(directory, 'ann.csv'), join(directory, 'bob.csv')], {
      stdout: (text) => lines.push(text),
      stderr: (text) => lines.push(text),
    });
    expect(code).toBe(1);
    expect(lines.join('\n')).toMatch(/Cohen's kappa over 11 item\(s\).*0\.621[\s\S]*below 0\.7/);
  });

  it('the automated verdict can join as an annotator (human vs pipeline agreement)', async () => {
    const items = selectForReview(run, { share: 1, seed: 'x' });
    await writeFile(
      join(directory, 'ann.jsonl'),
      formatReviewFile(
        items.map((item) => ({ ...item, annotator: 'ann', label: item.caseId === 'ok1' ? 'fail' : item.automated })),
        'jsonl',
      ),
    );
    const annotations = await readAnnotations([join(directory, 'ann.jsonl')], { includeAutomated: true });
    const agreement = computeAgreement(annotations);
    expect(agreement.annotators).toEqual(['ann', 'automated']);
    // Same table as above: 10/11 agree, one "fail" each side on different items → κ = 18/29.
    expect(agreement.kappa).toBeCloseTo(18 / 29, 12);
  });

  it('`eval review sample` reads a saved report.json', async () => {
    await writeFile(join(directory, 'report.json'), JSON.stringify(run));
    const lines: string[] = [];
    const io = { stdout: (text: string) => lines.push(text), stderr: (text: string) => lines.push(text) };
    const code = await evalReviewSample(
      { report: join(directory, 'report.json'), out: join(directory, 'r.csv'), share: '0', seed: 's' },
      io,
    );
    expect(code).toBe(0);
    expect(lines.join('\n')).toMatch(/1 item\(s\) \(1 flagged\)/);
    expect(
      await evalReviewSample(
        { report: join(directory, 'report.json'), out: join(directory, 'r.txt'), share: '0', seed: 's' },
        io,
      ),
    ).toBe(2);
    await writeFile(join(directory, 'not-a-report.json'), '{"hello": 1}');
    expect(
      await evalReviewSample(
        { report: join(directory, 'not-a-report.json'), out: join(directory, 'r.csv'), share: '0', seed: 's' },
        io,
      ),
    ).toBe(2);
    expect(lines.join('\n')).toMatch(/not an eval run report/);
  });

  it('JSONL annotations take the annotator from the file name when the column is empty', async () => {
    await writeFile(
      join(directory, 'carol.jsonl'),
      '{"caseId":"a","repeat":0,"label":"Pass"}\n{"caseId":"b","repeat":0,"label":""}\n',
    );
    expect(await readAnnotations([join(directory, 'carol.jsonl')])).toEqual([
      { itemId: 'a#0', annotator: 'carol', label: 'pass' },
    ]);
  });
});
