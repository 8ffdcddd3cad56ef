// The breakeven report: inputs, results, formulas, sensitivity charts (utilization and requests/day) and the seed check,
// as one self-contained HTML page plus standalone SVG charts; and the terminal rendering of the same numbers.
import type { BreakevenReport } from '../breakeven/compute.ts';
import { figure, htmlPage, htmlTable } from './html.ts';
import { compactNumber, escapeXml, lineChart } from './svg.ts';

const money = (value: number) =>
  !Number.isFinite(value)
    ? '—'
    : value >= 100
      ? `$${Math.round(value).toLocaleString('en-US')}`
      : value >= 1
        ? `$${value.toFixed(2)}`
        : value >= 0.01 || value === 0
          ? `$${value.toFixed(4)}`
          : `$${value.toPrecision(3)}`;
const count = (value: number) => Math.round(value).toLocaleString('en-US');
const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

export function breakevenCharts(report: BreakevenReport): { id: string; svg: string; caption: string }[] {
  const { results } = report;
  const utilizationMark =
    results.breakeven.utilization <= 1
      ? [{ x: results.breakeven.utilization, label: `breakeven ${percent(results.breakeven.utilization)}` }]
      : [];
  const requestMarks =
    results.breakeven.requestsPerDay === null
      ? []
      : [
          {
            x: results.breakeven.requestsPerDay,
            label: `breakeven ${compactNumber(results.breakeven.requestsPerDay)}/day`,
          },
        ];
  return [
    {
      id: 'cost-vs-utilization',
      caption: `Self-hosted $ per 1M tokens as average utilization varies (idle GPU-hours are paid for), against the API's blended price for ${report.profile.inputTokens}/${report.profile.outputTokens} tokens in/out.`,
      svg: lineChart({
        id: 'cost-vs-utilization',
        title: '$ per 1M tokens vs utilization',
        xLabel: 'average utilization',
        yLabel: '$ per 1M tokens',
        yMin: 0,
        yMax: Math.max(results.apiCostPerMillionTokens * 3, results.selfCostPerMillionTokens * 1.2),
        formatX: (value) => `${Math.round(value * 100)}%`,
        formatY: (value) => `$${Number(value.toPrecision(3))}`,
        series: [
          {
            name: `self-hosted ${report.gpusPerReplica}× ${report.gpu.id}`,
            points: report.sweeps.utilization.map((point): [number, number] => [
              point.utilization,
              point.selfCostPerMillionTokens,
            ]),
          },
        ],
        yMarks: [
          {
            y: results.apiCostPerMillionTokens,
            label: `${report.api.name} ${money(results.apiCostPerMillionTokens)}/1M`,
          },
        ],
        xMarks: utilizationMark,
      }),
    },
    {
      id: 'monthly-vs-requests',
      caption: `Monthly cost as traffic grows: the API scales linearly; self-hosting adds a whole replica (${report.gpusPerReplica} GPU) whenever average utilization would pass ${percent(report.utilization)}${results.fixedFleet ? ' (fixed fleet here)' : ''}.`,
      svg: lineChart({
        id: 'monthly-vs-requests',
        title: 'Monthly cost vs requests/day',
        xLabel: 'requests per day',
        yLabel: '$ per month',
        xMin: 0,
        yMin: 0,
        formatY: (value) => `$${compactNumber(value)}`,
        series: [
          {
            name: 'self-hosted',
            step: true,
            points: report.sweeps.requestsPerDay.map((point): [number, number] => [
              point.requestsPerDay,
              point.selfMonthly,
            ]),
          },
          {
            name: report.api.name,
            dashed: true,
            points: report.sweeps.requestsPerDay.map((point): [number, number] => [
              point.requestsPerDay,
              point.apiMonthly,
            ]),
          },
        ],
        xMarks: requestMarks,
      }),
    },
  ];
}

const VERDICT_CLASS = {
  holds: 'verdict-holds',
  'holds-under-assumptions': 'verdict-conditional',
  'does-not-hold': 'verdict-fails',
} as const;

export function renderBreakevenReport(report: BreakevenReport): string {
  const { results } = report;
  const charts = breakevenCharts(report);
  const breakevenText =
    results.breakeven.requestsPerDay === null
      ? `never: one replica costs more per token than ${report.api.name} even at ${percent(report.utilization)} utilization`
      : `${count(results.breakeven.requestsPerDay)} requests/day (one replica at ${percent(results.breakeven.utilization)} utilization)` +
        (results.breakeven.stableFromRequestsPerDay !== null &&
        results.breakeven.stableFromRequestsPerDay > results.breakeven.requestsPerDay
          ? `; because replicas come whole, the API is cheaper again just after some replica steps, and self-hosting stays cheaper for good above ${count(results.breakeven.stableFromRequestsPerDay)} requests/day`
          : '');
  const seedRows = report.seedCheck
    .map(
      (check) =>
        `<tr><td>${escapeXml(check.claim)}</td><td>${escapeXml(check.recomputed)}</td><td class="${VERDICT_CLASS[check.verdict]}">${check.verdict}</td><td>${escapeXml(check.detail)}<br><small>Assumptions: ${escapeXml(check.assumptions.join('; '))}</small></td></tr>`,
    )
    .join('\n');
  const body = `
<h1>Self-host vs API: ${escapeXml(report.model.name)} on ${report.gpusPerReplica}× ${escapeXml(report.gpu.name)} vs ${escapeXml(report.api.name)}</h1>
<p class="meta">${escapeXml(report.createdAt)} · throughput ${escapeXml(report.throughput.note)}</p>
${report.warnings.map((warning) => `<p class="verdict-fails">⚠ ${escapeXml(warning)}</p>`).join('\n')}
<h2>Inputs</h2>
${htmlTable(
  ['input', 'value'],
  [
    ['model', `${report.model.name} (${report.model.id})`],
    ['GPU', `${report.gpusPerReplica}× ${report.gpu.name} per replica`],
    ['GPU price', `${money(report.gpuHourly)}/GPU-hour — ${report.gpuPriceSource}`],
    [
      'replica capacity',
      `${report.throughput.requestsPerS.toFixed(2)} req/s = ${count(report.throughput.tokensPerS)} tok/s total, ${count(report.throughput.outputTokensPerS)} output tok/s (${report.throughput.source})`,
    ],
    ['request profile', `${report.profile.inputTokens} input + ${report.profile.outputTokens} output tokens`],
    ['utilization', percent(report.utilization)],
    ['traffic', `${count(report.requestsPerDay)} requests/day`],
    [
      'API',
      `${report.api.name}: ${money(report.api.input)} in / ${money(report.api.output)} out per 1M tokens — ${report.api.source}`,
    ],
  ],
  'text',
)}
<h2>Results</h2>
${htmlTable(
  ['', 'self-hosted', report.api.name],
  [
    [
      '$ per 1M tokens (in + out)',
      `${money(results.selfCostPerMillionTokens)} at ${percent(report.utilization)}`,
      money(results.apiCostPerMillionTokens),
    ],
    ['$ per 1M output tokens', money(results.selfCostPerMillionOutputTokens), money(report.api.output)],
    [
      '$ per request',
      money((results.selfCostPerMillionTokens * (report.profile.inputTokens + report.profile.outputTokens)) / 1e6),
      money(results.apiCostPerRequest),
    ],
    [
      'monthly',
      `${money(results.selfMonthly)} (${results.replicas} replica${results.replicas === 1 ? '' : 's'}, ${results.replicas * report.gpusPerReplica} GPU, ${percent(results.realizedUtilization)} realized utilization)`,
      money(results.apiMonthly),
    ],
  ],
)}
<p><b>Breakeven:</b> ${escapeXml(breakevenText)}. Self-hosting is cheaper per token above ${percent(results.breakeven.utilization)} utilization${results.breakeven.utilization > 1 ? ' (i.e. never)' : ''}.</p>
<h2>Sensitivity</h2>
<div class="charts">
${charts.map((chart) => figure(chart.svg, chart.caption)).join('\n')}
</div>
<h2>Formulas</h2>
<pre>
replica $/h            = GPU $/h × GPUs per replica          = ${money(report.gpuHourly)} × ${report.gpusPerReplica} = ${money(results.replicaHourly)}
self $/1M tokens at u  = replica $/h ÷ (replica tok/s × u × 3600) × 1e6
                       = ${money(results.replicaHourly)} ÷ (${count(report.throughput.tokensPerS)} × ${report.utilization} × 3600) × 1e6 = ${money(results.selfCostPerMillionTokens)}
API $/request          = (in × $in + out × $out) ÷ 1e6       = (${report.profile.inputTokens} × ${report.api.input} + ${report.profile.outputTokens} × ${report.api.output}) ÷ 1e6 = ${money(results.apiCostPerRequest)}
API $/1M tokens        = API $/request ÷ (in + out) × 1e6    = ${money(results.apiCostPerMillionTokens)}
replicas               = ⌈ requests/day ÷ (replica req/s × 86,400 × u) ⌉ (at least 1; idle hours billed)
self monthly           = replicas × replica $/h × 730 h      = ${money(results.selfMonthly)}
API monthly            = requests/day × 365/12 × API $/request = ${money(results.apiMonthly)}
breakeven requests/day = replica $/h × 24 ÷ API $/request    (valid while one replica carries it at u)
breakeven utilization  = self $/1M at 100% ÷ API $/1M
</pre>
<h2>Common cost claims, rechecked</h2>
<p>A widely quoted self-hosting cost table and breakeven claim (Llama 3.1 on A100/H100 vs GPT-4o-mini), recomputed with the catalog prices (prices.yaml) and the step-time model.</p>
<table class="text">
<tr><th>claim</th><th>recomputed</th><th>verdict</th><th>why / under which assumptions</th></tr>
${seedRows}
</table>
<h2>Live mode</h2>
<p>For realized utilization and $/1M per pool from a running router's own metrics over a window, run
<code>switchyard breakeven --live --router URL --window 1h</code> (or <code>--scrapes start.prom end.prom --window 1h</code>);
see <code>benchmarks/breakeven/README.md</code>.</p>
`;
  return htmlPage(`breakeven — ${report.model.id} on ${report.gpu.id}`, body);
}

export function formatBreakeven(report: BreakevenReport): string {
  const { results } = report;
  const lines = [
    `${report.model.name} on ${report.gpusPerReplica}× ${report.gpu.name} (${money(report.gpuHourly)}/GPU-h) vs ${report.api.name}`,
    `capacity: ${report.throughput.requestsPerS.toFixed(2)} req/s = ${count(report.throughput.tokensPerS)} tok/s per replica — ${report.throughput.note}`,
    `profile: ${report.profile.inputTokens} in + ${report.profile.outputTokens} out tokens/request; utilization ${percent(report.utilization)}; ${count(report.requestsPerDay)} requests/day`,
    '',
    `self-hosted $/1M tokens:  ${money(results.selfCostPerMillionTokens)}   (output-only: ${money(results.selfCostPerMillionOutputTokens)})`,
    `API $/1M tokens:          ${money(results.apiCostPerMillionTokens)}   ($/request ${money(results.apiCostPerRequest)})`,
    `monthly self-hosted:      ${money(results.selfMonthly)}   (${results.replicas} replica(s), realized utilization ${percent(results.realizedUtilization)})`,
    `monthly API:              ${money(results.apiMonthly)}`,
    `breakeven:                ${results.breakeven.requestsPerDay === null ? 'never at this utilization' : `${count(results.breakeven.requestsPerDay)} requests/day`}; breakeven utilization ${percent(results.breakeven.utilization)}`,
    ...report.warnings.map((warning) => `warning: ${warning}`),
    '',
    'common cost claims, rechecked:',
    ...report.seedCheck.map(
      (check) => `  [${check.verdict}] ${check.claim}\n      → ${check.recomputed}\n      ${check.detail}`,
    ),
  ];
  return lines.join('\n');
}
