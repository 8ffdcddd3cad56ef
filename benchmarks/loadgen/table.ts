// Terminal output: vLLM-style result block per run, a one-line-per-step sweep table, and `bench compare` deltas.
import type { Distribution, Summary } from './metrics.ts';
import type { BenchResult, RunResult } from './runner.ts';

const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : '—');
const line = (label: string, value: string | number) => `${label.padEnd(42)}${value}`;

function distributionLines(title: string, name: string, values: Distribution): string[] {
  const out = [`${'-'.repeat(Math.max(0, Math.floor((50 - title.length) / 2)))}${title}`.padEnd(50, '-')];
  out.push(line(`Mean ${name} (ms):`, fixed(values.mean)), line(`Median ${name} (ms):`, fixed(values.median)));
  for (const [p, value] of Object.entries(values.percentiles))
    if (p !== '50') out.push(line(`P${p} ${name} (ms):`, fixed(value)));
  return out;
}

export function formatRun(run: RunResult): string {
  const summary = run.summary;
  const lines = [
    ` ${run.label} `.padStart(25 + Math.floor((run.label.length + 2) / 2), '=').padEnd(50, '='),
    line('Successful requests:', summary.completed),
    line('Failed requests:', summary.failed),
  ];
  if (summary.cancelled > 0) lines.push(line('Cancelled at end of run:', summary.cancelled));
  const errors = Object.entries(summary.errorsByType).filter(([type]) => type !== 'cancelled');
  if (errors.length > 0)
    lines.push(line('Errors by type:', errors.map(([type, count]) => `${type}=${count}`).join(' ')));
  lines.push(
    line('Benchmark duration (s):', fixed(summary.durationS)),
    line('Total input tokens:', summary.totalInputTokens),
    line('Total generated tokens:', summary.totalOutputTokens),
    line('Request throughput (req/s):', fixed(summary.requestThroughput)),
  );
  if (summary.requestGoodput !== null) lines.push(line('Request goodput (req/s):', fixed(summary.requestGoodput)));
  lines.push(
    line('Output token throughput (tok/s):', fixed(summary.outputThroughput)),
    line('Peak output token throughput (tok/s):', fixed(summary.peakOutputTokensPerS)),
    line('Total token throughput (tok/s):', fixed(summary.totalTokenThroughput)),
    ...distributionLines('Time to First Token', 'TTFT', summary.ttftMs),
    ...distributionLines('Time per Output Token (excl. 1st token)', 'TPOT', summary.tpotMs),
    ...distributionLines('Inter-token Latency', 'ITL', summary.itlMs),
    ...distributionLines('End-to-end Latency', 'E2EL', summary.e2elMs),
  );
  if (summary.sendLagMs) lines.push(...distributionLines('Send lag (open loop)', 'lag', summary.sendLagMs));
  lines.push('='.repeat(50));
  return lines.join('\n');
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const render = (cells: string[]) => cells.map((cell, column) => cell.padStart(widths[column] ?? 0)).join('  ');
  return [render(headers), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(render)].join('\n');
}

export function formatSweep(result: BenchResult): string {
  const rows = result.runs.map((run) => {
    const s = run.summary;
    return [
      run.label,
      String(s.completed),
      String(s.failed),
      fixed(s.requestThroughput),
      s.requestGoodput === null ? '—' : fixed(s.requestGoodput),
      fixed(s.outputThroughput, 1),
      fixed(s.ttftMs.median, 1),
      fixed(s.ttftMs.percentiles['99'] ?? Number.NaN, 1),
      fixed(s.tpotMs.median, 1),
      fixed(s.itlMs.percentiles['99'] ?? Number.NaN, 1),
      fixed(s.e2elMs.percentiles['99'] ?? Number.NaN, 1),
    ];
  });
  return table(
    ['load', 'ok', 'fail', 'req/s', 'goodput', 'out tok/s', 'TTFT p50', 'TTFT p99', 'TPOT p50', 'ITL p99', 'E2E p99'],
    rows,
  );
}

interface CompareMetric {
  name: string;
  pick: (summary: Summary) => number | null;
  /** Whether a larger value is better (throughput) or worse (latency). */
  higherIsBetter: boolean;
}

const COMPARE_METRICS: CompareMetric[] = [
  { name: 'request throughput (req/s)', pick: (s) => s.requestThroughput, higherIsBetter: true },
  { name: 'request goodput (req/s)', pick: (s) => s.requestGoodput, higherIsBetter: true },
  { name: 'output throughput (tok/s)', pick: (s) => s.outputThroughput, higherIsBetter: true },
  { name: 'total token throughput (tok/s)', pick: (s) => s.totalTokenThroughput, higherIsBetter: true },
  { name: 'failed requests', pick: (s) => s.failed, higherIsBetter: false },
  ...(['ttftMs', 'tpotMs', 'itlMs', 'e2elMs'] as const).flatMap((key) => {
    const name = key.replace('Ms', '').toUpperCase();
    return [
      { name: `${name} mean (ms)`, pick: (s: Summary) => s[key].mean, higherIsBetter: false },
      { name: `${name} p50 (ms)`, pick: (s: Summary) => s[key].median, higherIsBetter: false },
      { name: `${name} p99 (ms)`, pick: (s: Summary) => s[key].percentiles['99'] ?? null, higherIsBetter: false },
    ];
  }),
];

export interface MetricDelta {
  run: string;
  metric: string;
  a: number | null;
  b: number | null;
  delta: number | null;
  /** (b − a)/a, null when a is 0 or missing. */
  relative: number | null;
  better: boolean | null;
}

/** Pairs runs by position (sweep step) and computes b − a for each metric. */
export function compareResults(a: BenchResult, b: BenchResult): MetricDelta[] {
  const deltas: MetricDelta[] = [];
  const steps = Math.min(a.runs.length, b.runs.length);
  for (let step = 0; step < steps; step += 1) {
    const runA = a.runs[step] as RunResult;
    const runB = b.runs[step] as RunResult;
    const label = runA.label === runB.label ? runA.label : `${runA.label} vs ${runB.label}`;
    for (const metric of COMPARE_METRICS) {
      const valueA = metric.pick(runA.summary);
      const valueB = metric.pick(runB.summary);
      const delta = valueA === null || valueB === null ? null : valueB - valueA;
      const relative = delta === null || !valueA ? null : delta / valueA;
      const better = delta === null || delta === 0 ? null : delta > 0 === metric.higherIsBetter;
      deltas.push({ run: label, metric: metric.name, a: valueA, b: valueB, delta, relative, better });
    }
  }
  return deltas;
}

export function formatComparison(deltas: readonly MetricDelta[], stepsNote = ''): string {
  const rows = deltas.map((delta) => [
    delta.run,
    delta.metric,
    delta.a === null ? '—' : fixed(delta.a),
    delta.b === null ? '—' : fixed(delta.b),
    delta.delta === null ? '—' : `${delta.delta >= 0 ? '+' : ''}${fixed(delta.delta)}`,
    delta.relative === null ? '—' : `${delta.relative >= 0 ? '+' : ''}${fixed(delta.relative * 100, 1)}%`,
    delta.better === null ? '' : delta.better ? 'better' : 'worse',
  ]);
  return `${table(['run', 'metric', 'a', 'b', 'b − a', 'Δ%', ''], rows)}${stepsNote ? `\n${stepsNote}` : ''}`;
}
