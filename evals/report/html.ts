// The HTML report of one run: a single self-contained file (inline CSS, no scripts, no network) with per-metric
// pass rates, score histograms, judge flip rate, the worst cases with reasons, and every case's output. All
// report text is escaped.
import type { GateResult } from '../gate/baseline.ts';
import type { MetricSummary, RunReport } from './types.ts';

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

function histogramSvg(metric: MetricSummary): string {
  const max = Math.max(1, ...metric.histogram);
  const bars = metric.histogram
    .map((count, index) => {
      const height = Math.round((count / max) * 40);
      return `<rect x="${index * 12}" y="${40 - height}" width="10" height="${height}"><title>${(index / 10).toFixed(1)}–${((index + 1) / 10).toFixed(1)}: ${count}</title></rect>`;
    })
    .join('');
  return `<svg class="hist" width="120" height="42" role="img" aria-label="score distribution">${bars}</svg>`;
}

export function renderHtmlReport(report: RunReport, gate?: GateResult): string {
  const e = escapeHtml;
  const { summary } = report;
  const metricRows = summary.metrics
    .map(
      (
        metric,
      ) => `<tr><td>${e(metric.id)}</td><td>${e(metric.stage)}</td><td class="num">${percent(metric.passRate)}</td>
<td class="num">${metric.meanScore.toFixed(3)}</td><td class="num">${metric.count}</td><td>${histogramSvg(metric)}</td>
<td class="num">${report.repeat > 1 ? percent(metric.flakyRate) : '–'}</td><td>${metric.gate ? 'yes' : 'no'}</td></tr>`,
    )
    .join('\n');
  const worstRows = summary.worst
    .map(
      (worst) => `<tr><td>${e(worst.caseId)}#${worst.repeat}</td><td class="num">${worst.failed}</td>
<td class="num">${worst.meanScore.toFixed(3)}</td><td><ul>${worst.reasons.map((reason) => `<li>${e(reason)}</li>`).join('')}</ul></td></tr>`,
    )
    .join('\n');
  const caseRows = report.results
    .map(
      (
        result,
      ) => `<details${result.passed ? '' : ' open'}><summary class="${result.passed ? 'pass' : 'fail'}">${e(result.caseId)}#${result.repeat} — ${result.passed ? 'pass' : 'fail'}${result.cached ? ' (cached)' : ''}</summary>
<p><b>Input</b></p><pre>${e(result.input)}</pre><p><b>Output</b></p><pre>${e(result.error === undefined ? result.output : `ERROR: ${result.error}`)}</pre>
<table><tr><th>metric</th><th>pass</th><th>score</th><th>reason</th></tr>${result.metrics
        .map(
          (metric) =>
            `<tr><td>${e(metric.id)}</td><td class="${metric.pass ? 'pass' : 'fail'}">${metric.pass ? 'pass' : 'fail'}</td><td class="num">${metric.score.toFixed(3)}</td><td>${e(metric.reason)}</td></tr>`,
        )
        .join('')}</table></details>`,
    )
    .join('\n');
  const gateSection = gate
    ? `<h2>Gate: ${gate.pass ? '<span class="pass">passed</span>' : '<span class="fail">FAILED</span>'}</h2>
<ul>${gate.warnings.map((warning) => `<li>${e(warning)}</li>`).join('')}</ul>
<table><tr><th>metric</th><th>measure</th><th>candidate</th><th>threshold</th><th>baseline</th><th></th></tr>${gate.checks
        .map(
          (check) =>
            `<tr><td>${e(check.metricId)}</td><td>${check.measure}</td><td class="num">${check.candidate === null ? 'missing' : check.candidate.toFixed(4)}</td><td class="num">${check.threshold.toFixed(4)}</td><td class="num">${check.baseline === null ? '–' : check.baseline.toFixed(4)}</td><td class="${check.pass ? 'pass' : 'fail'}">${check.pass ? 'ok' : 'FAIL'}</td></tr>`,
        )
        .join('')}</table>`
    : '';
  const flip =
    summary.judge.flipRate === null
      ? 'no pairwise comparisons'
      : `${summary.judge.flips}/${summary.judge.pairwiseComparisons} (${percent(summary.judge.flipRate)})` +
        (summary.judge.firstPositionRate === null
          ? ''
          : `; first-shown answer picked in ${percent(summary.judge.firstPositionRate)} of verdicts`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Eval ${e(report.suite.name)} — ${e(report.runId)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;max-width:1100px}table{border-collapse:collapse;margin:.5rem 0}
td,th{border:1px solid #ccc;padding:.25rem .5rem;vertical-align:top;text-align:left}.num{text-align:right}
.pass{color:#176117}.fail{color:#a31515;font-weight:600}pre{white-space:pre-wrap;background:#f6f6f6;padding:.5rem}
.hist rect{fill:#4a78b5}details{margin:.5rem 0}summary{cursor:pointer}
</style></head><body>
<h1>Eval report: ${e(report.suite.name)}</h1>
<table>
<tr><th>run</th><td>${e(report.runId)} (${e(report.startedAt)} → ${e(report.finishedAt)})</td></tr>
<tr><th>suite version</th><td>${e(report.suite.hash)} — ${report.suite.cases} cases × ${report.repeat} repeat(s)</td></tr>
<tr><th>target</th><td>${e(report.target.model)} @ ${e(report.target.label)}</td></tr>
<tr><th>judge</th><td>${report.judge ? `${e(report.judge.model)} (${e(Object.values(report.judge.promptVersions).join(', '))})` : 'none'}</td></tr>
<tr><th>embedder</th><td>${e(report.embedder.id)}${report.embedder.fallback ? ' — fallback (hashed bag of words: word overlap, not meaning)' : ''}</td></tr>
<tr><th>cases passing all metrics</th><td>${percent(summary.casePassRate)} (target errors: ${summary.errors})</td></tr>
<tr><th>judge flip rate</th><td>${flip}</td></tr>
${summary.identicalOutputRate === null ? '' : `<tr><th>identical outputs across repeats</th><td>${percent(summary.identicalOutputRate)} of cases</td></tr>`}
<tr><th>target calls / cache hits</th><td>${report.calls.targetCalls} / ${report.calls.targetCacheHits}${report.calls.judgeCalls === undefined ? '' : `; judge calls ${report.calls.judgeCalls}`}</td></tr>
</table>
${gateSection}
<h2>Metrics</h2>
<table><tr><th>metric</th><th>stage</th><th>pass rate</th><th>mean score</th><th>n</th><th>scores 0→1</th><th>flaky</th><th>gated</th></tr>
${metricRows}</table>
<h2>Worst cases</h2>
${summary.worst.length === 0 ? '<p>None: every case passed.</p>' : `<table><tr><th>case</th><th>failed</th><th>mean score</th><th>reasons</th></tr>${worstRows}</table>`}
<h2>All cases</h2>
${caseRows}
</body></html>
`;
}
