import { describe, expect, it } from 'vitest';
import type { GateResult } from '../gate/baseline.ts';
import { escapeHtml, renderHtmlReport } from './html.ts';
import { histogram, summarize } from './summary.ts';
import { formatGate, formatSummary } from './terminal.ts';
import type { CaseResult, RunReport } from './types.ts';

const metric = (id: string, pass: boolean, score: number, details?: Record<string, unknown>) => ({
  id,
  type: id === 'pairwise' ? 'pairwise' : 'contains',
  stage: (id === 'pairwise' ? 'judge' : 'deterministic') as 'judge' | 'deterministic',
  gate: true,
  pass,
  score,
  reason: `${id} says <b>${pass ? 'ok' : 'no'}</b>`,
  ...(details ? { details } : {}),
});

const results: CaseResult[] = [
  {
    caseId: 'a',
    repeat: 0,
    tags: [],
    input: 'q <script>alert(1)</script>',
    output: '<img src=x onerror=alert(1)>',
    cached: false,
    latencyMs: 5,
    metrics: [
      metric('contains', true, 1),
      metric('pairwise', true, 0.5, {
        flipped: true,
        candidateFirst: { winner: 'A' },
        candidateSecond: { winner: 'A' },
      }),
    ],
    passed: true,
  },
  {
    caseId: 'b',
    repeat: 0,
    tags: [],
    input: 'q',
    output: 'x',
    cached: true,
    latencyMs: 0,
    metrics: [
      metric('contains', false, 0),
      metric('pairwise', false, 0, {
        flipped: false,
        candidateFirst: { winner: 'B' },
        candidateSecond: { winner: 'tie' },
      }),
    ],
    passed: false,
  },
];

const report: RunReport = {
  schemaVersion: 1,
  runId: 'run-1',
  startedAt: 't0',
  finishedAt: 't1',
  suite: { name: 'demo & co', path: 'p', hash: 'sha256:abc', cases: 2 },
  target: { label: 'http://x/v1', model: 'm' },
  compare: null,
  judge: { model: 'j', promptVersions: { pairwise: 'pairwise@sha256:1' } },
  embedder: { id: 'hashed-bow-512-v1', fallback: true },
  repeat: 1,
  concurrency: 2,
  calls: { targetCalls: 1, targetCacheHits: 1 },
  results,
  summary: summarize(results),
};

describe('summary', () => {
  it('aggregates pass rates, means, histograms, flip rate and worst cases', () => {
    expect(histogram([0, 0.05, 0.1, 0.99, 1])).toEqual([2, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
    const summary = report.summary;
    expect(summary.metrics.map((m) => [m.id, m.passRate, m.meanScore])).toEqual([
      ['contains', 0.5, 0.5],
      ['pairwise', 0.5, 0.25],
    ]);
    // Raw verdicts naming a winner: A, A, B (the tie does not count) → first-shown picked 2 of 3.
    expect(summary.judge).toEqual({ pairwiseComparisons: 2, flips: 1, flipRate: 0.5, firstPositionRate: 2 / 3 });
    expect(summary.identicalOutputRate).toBeNull();
    const repeated = summarize([...results, { ...results[0], repeat: 1, output: 'different' } as CaseResult]);
    expect(repeated.identicalOutputRate).toBe(1 / 2);
    expect(summary.casePassRate).toBe(0.5);
    expect(summary.worst.map((worst) => [worst.caseId, worst.failed])).toEqual([['b', 2]]);
  });
});

describe('reports', () => {
  it('HTML escapes every piece of report text and shows the fallback embedder and flip rate', () => {
    const html = renderHtmlReport(report);
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('demo &amp; co');
    expect(html).toContain('contains says &lt;b&gt;no&lt;/b&gt;');
    expect(html).toMatch(/fallback \(hashed bag of words/);
    expect(html).toContain('1/2 (50.0%); first-shown answer picked in 66.7% of verdicts');
    expect(escapeHtml(`"'&`)).toBe('&quot;&#39;&amp;');
  });

  it('terminal summary and gate lines', () => {
    const text = formatSummary(report);
    expect(text).toMatch(/fallback embedder hashed-bow-512-v1/);
    expect(text).toMatch(/judge position flips: 1\/2 \(flip rate 50\.0%/);
    const gate: GateResult = {
      pass: false,
      warnings: ['suite changed'],
      checks: [
        { metricId: 'contains', measure: 'passRate', candidate: 0.5, baseline: 0.9, threshold: 0.87, pass: false },
      ],
    };
    expect(formatGate(gate)).toBe(
      'gate warning: suite changed\nFAIL contains passRate 0.5000 ≥ 0.8700 (baseline 0.9000)\ngate: FAILED',
    );
    expect(renderHtmlReport(report, gate)).toContain('<h2>Gate: <span class="fail">FAILED</span></h2>');
  });
});
