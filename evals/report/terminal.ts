// The terminal summary of a run (and of a gate decision): plain text, no colours, fit for CI logs.
import type { GateResult } from '../gate/baseline.ts';
import type { RunReport } from './types.ts';

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

export function formatSummary(report: RunReport): string {
  const lines: string[] = [];
  const { summary } = report;
  lines.push(
    `suite ${report.suite.name} (${report.suite.hash}), ${report.suite.cases} cases × ${report.repeat} repeat(s) ` +
      `against ${report.target.model} @ ${report.target.label}`,
  );
  if (report.embedder.fallback) {
    lines.push(`note: semantic metrics used the fallback embedder ${report.embedder.id} (word overlap, not meaning)`);
  }
  if (report.judge)
    lines.push(`judge ${report.judge.model} (${Object.values(report.judge.promptVersions).join(', ')})`);
  lines.push(
    `cases passing every metric: ${percent(summary.casePassRate)}; target errors: ${summary.errors}; ` +
      `target calls: ${report.calls.targetCalls}, cache hits: ${report.calls.targetCacheHits}` +
      (report.calls.judgeCalls === undefined ? '' : `, judge calls: ${report.calls.judgeCalls}`),
  );
  lines.push('');
  const width = Math.max(6, ...summary.metrics.map((metric) => metric.id.length));
  lines.push(`${'metric'.padEnd(width)}  stage          pass rate  mean score  n     gate`);
  for (const metric of summary.metrics) {
    lines.push(
      `${metric.id.padEnd(width)}  ${metric.stage.padEnd(13)}  ${percent(metric.passRate).padStart(9)}  ` +
        `${metric.meanScore.toFixed(3).padStart(10)}  ${String(metric.count).padEnd(4)}  ${metric.gate ? 'yes' : 'no'}`,
    );
  }
  if (summary.judge.flipRate !== null) {
    lines.push('');
    lines.push(
      `judge position flips: ${summary.judge.flips}/${summary.judge.pairwiseComparisons} ` +
        `(flip rate ${percent(summary.judge.flipRate)}; flipped comparisons count as ties)` +
        (summary.judge.firstPositionRate === null
          ? ''
          : `; first-shown answer picked in ${percent(summary.judge.firstPositionRate)} of verdicts`),
    );
  }
  if (report.repeat > 1) {
    lines.push(
      `flaky (case, metric) pairs across repeats: ${summary.flaky.length}; cases with identical outputs on every ` +
        `repeat: ${summary.identicalOutputRate === null ? '–' : percent(summary.identicalOutputRate)}`,
    );
  }
  if (summary.worst.length > 0) {
    lines.push('');
    lines.push('worst cases:');
    for (const worst of summary.worst.slice(0, 5)) {
      lines.push(`  ${worst.caseId}#${worst.repeat}: ${worst.reasons.slice(0, 3).join(' | ').slice(0, 200)}`);
    }
  }
  return lines.join('\n');
}

export function formatGate(result: GateResult): string {
  const lines = result.warnings.map((warning) => `gate warning: ${warning}`);
  for (const check of result.checks) {
    const candidate = check.candidate === null ? 'missing' : check.candidate.toFixed(4);
    const baseline = check.baseline === null ? '' : ` (baseline ${check.baseline.toFixed(4)})`;
    lines.push(
      `${check.pass ? 'ok  ' : 'FAIL'} ${check.metricId} ${check.measure} ${candidate} ≥ ${check.threshold.toFixed(4)}${baseline}`,
    );
  }
  lines.push(result.pass ? 'gate: passed' : 'gate: FAILED');
  return lines.join('\n');
}
