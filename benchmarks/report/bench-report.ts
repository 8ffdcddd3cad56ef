// The HTML report of a `switchyard bench` result: summary table, latency-vs-throughput over the sweep, CDFs of TTFT
// and ITL, and the per-second throughput timeline. Self-contained: inline CSS and SVG only.
import type { BenchResult } from '../loadgen/runner.ts';
import { throughputTimeline } from '../loadgen/metrics.ts';
import { figure, htmlPage, htmlTable } from './html.ts';
import { cdfPoints, escapeXml, lineChart, type Series } from './svg.ts';

const ms = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(1));

export function benchCharts(result: BenchResult): { id: string; svg: string; caption: string }[] {
  const runs = result.runs;
  const sweepSeries = (name: string, pick: (index: number) => [number, number]): Series => ({
    name,
    markers: true,
    points: runs.map((_, index) => pick(index)),
  });
  const summaries = runs.map((run) => run.summary);
  const charts = [
    {
      id: 'latency-vs-throughput-ttft',
      caption: 'TTFT percentiles against achieved request throughput, one point per sweep step.',
      svg: lineChart({
        id: 'latency-vs-throughput-ttft',
        title: 'TTFT vs throughput',
        xLabel: 'request throughput (req/s)',
        yLabel: 'TTFT (ms)',
        xMin: 0,
        series: [
          sweepSeries('TTFT p50', (index) => [
            summaries[index]?.requestThroughput ?? 0,
            summaries[index]?.ttftMs.median ?? 0,
          ]),
          sweepSeries('TTFT p99', (index) => [
            summaries[index]?.requestThroughput ?? 0,
            summaries[index]?.ttftMs.percentiles['99'] ?? 0,
          ]),
        ],
      }),
    },
    {
      id: 'latency-vs-throughput-tpot',
      caption: 'TPOT (p50) and ITL (p99) against achieved output-token throughput, one point per sweep step.',
      svg: lineChart({
        id: 'latency-vs-throughput-tpot',
        title: 'Per-token latency vs throughput',
        xLabel: 'output throughput (tok/s)',
        yLabel: 'ms',
        xMin: 0,
        series: [
          sweepSeries('TPOT p50', (index) => [
            summaries[index]?.outputThroughput ?? 0,
            summaries[index]?.tpotMs.median ?? 0,
          ]),
          sweepSeries('ITL p99', (index) => [
            summaries[index]?.outputThroughput ?? 0,
            summaries[index]?.itlMs.percentiles['99'] ?? 0,
          ]),
        ],
      }),
    },
    {
      id: 'ttft-cdf',
      caption: 'Empirical CDF of time to first token, per sweep step.',
      svg: lineChart({
        id: 'ttft-cdf',
        title: 'TTFT CDF',
        xLabel: 'TTFT (ms)',
        yLabel: 'fraction of requests',
        yMin: 0,
        yMax: 1,
        formatY: (value) => value.toFixed(1),
        series: runs.map((run) => ({
          name: run.label,
          step: true,
          points: cdfPoints(
            run.records.flatMap((record) => (record.success && record.ttftMs !== null ? [record.ttftMs] : [])),
          ),
        })),
      }),
    },
    {
      id: 'itl-cdf',
      caption: 'Empirical CDF of inter-token latency (every gap of every request), per sweep step.',
      svg: lineChart({
        id: 'itl-cdf',
        title: 'ITL CDF',
        xLabel: 'ITL (ms)',
        yLabel: 'fraction of gaps',
        yMin: 0,
        yMax: 1,
        formatY: (value) => value.toFixed(1),
        series: runs.map((run) => ({
          name: run.label,
          step: true,
          points: cdfPoints(run.records.flatMap((record) => (record.success ? record.itlMs : []))),
        })),
      }),
    },
    {
      id: 'throughput-timeline',
      caption: 'Output tokens received in each one-second bucket since the step started (warm-up excluded).',
      svg: lineChart({
        id: 'throughput-timeline',
        title: 'Output throughput over time',
        xLabel: 'seconds since start',
        yLabel: 'output tok/s',
        xMin: 0,
        yMin: 0,
        series: runs.map((run) => ({
          name: run.label,
          step: true,
          points: throughputTimeline(run.records).map((bucket): [number, number] => [
            bucket.second,
            bucket.outputTokens,
          ]),
        })),
      }),
    },
  ];
  return charts;
}

export function renderBenchReport(result: BenchResult): string {
  const config = result.config;
  const slo = Object.entries(config.goodput)
    .map(([key, value]) => `${key} ≤ ${value} ms`)
    .join(', ');
  const rows = result.runs.map((run) => {
    const s = run.summary;
    return [
      run.label,
      String(s.completed),
      String(s.failed),
      s.durationS.toFixed(2),
      s.requestThroughput.toFixed(2),
      s.requestGoodput === null ? '—' : s.requestGoodput.toFixed(2),
      s.outputThroughput.toFixed(1),
      s.totalTokenThroughput.toFixed(1),
      ms(s.ttftMs.median),
      ms(s.ttftMs.percentiles['99']),
      ms(s.tpotMs.median),
      ms(s.tpotMs.percentiles['99']),
      ms(s.itlMs.median),
      ms(s.itlMs.percentiles['99']),
      ms(s.e2elMs.median),
      ms(s.e2elMs.percentiles['99']),
    ];
  });
  const errors = result.runs.flatMap((run) =>
    Object.entries(run.summary.errorsByType).map(([type, count]) => [run.label, type, String(count)]),
  );
  const charts = benchCharts(result);
  const body = `
<h1>switchyard bench</h1>
<p class="meta">${escapeXml(config.baseUrl)} · model <code>${escapeXml(config.model)}</code> · ${config.endpoint}${config.stream ? ' (streaming)' : ''} · ${escapeXml(result.workload)} · seed ${config.seed} · ${escapeXml(result.createdAt)}</p>
<p class="meta">Bound: ${config.requests === undefined ? '' : `${config.requests} requests`}${config.requests !== undefined && config.durationS !== undefined ? ' / ' : ''}${config.durationS === undefined ? '' : `${config.durationS} s`} per step, warm-up ${config.warmupRequests}${slo ? ` · goodput SLO: ${escapeXml(slo)}` : ''}</p>
<h2>Summary</h2>
${htmlTable(
  [
    'load',
    'ok',
    'failed',
    'duration s',
    'req/s',
    'goodput req/s',
    'out tok/s',
    'total tok/s',
    'TTFT p50',
    'TTFT p99',
    'TPOT p50',
    'TPOT p99',
    'ITL p50',
    'ITL p99',
    'E2E p50',
    'E2E p99',
  ],
  rows,
)}
${errors.length > 0 ? `<h3>Errors by type</h3>\n${htmlTable(['load', 'type', 'count'], errors)}` : '<p>No errors.</p>'}
<h2>Charts</h2>
<div class="charts">
${charts.map((chart) => figure(chart.svg, chart.caption)).join('\n')}
</div>
<h2>Definitions</h2>
<p>As <code>vllm bench serve</code>: TTFT = first non-empty chunk − send; ITL = gaps between successive non-empty chunks;
TPOT = (E2E − TTFT)/(output tokens − 1); E2E = last byte − send; throughputs = totals / step duration; goodput = requests
meeting every SLO / duration; percentiles by linear interpolation. Latencies in ms.</p>
`;
  return htmlPage(`switchyard bench — ${config.model}`, body);
}
