// The live cost report: per pool, what the window's traffic really cost (GPU-hours paid, idle included, plus hosted
// spend), the realized utilization and $/1M tokens, and what the same tokens would have cost on the API model.
import { InvalidInputError } from '../loadgen/errors.ts';
import { DAYS_PER_MONTH, SECONDS_PER_DAY, type ApiPrice } from './formulas.ts';
import { realizedCosts, type LiveWindow, type RealizedPoolCost } from './live.ts';
import type { LivePoolUsage } from './live-usage.ts';

export interface LivePoolReport extends LivePoolUsage, RealizedPoolCost {
  /** API $ per 1M tokens for this pool's own prompt/completion mix. */
  apiCostPerMillionTokens: number;
}

export interface LiveReport {
  createdAt: string;
  windowS: number;
  source: string;
  api: ApiPrice & { source: string };
  pools: LivePoolReport[];
  totals: {
    promptTokens: number;
    completionTokens: number;
    spend: number;
    apiEquivalentSpend: number;
    costPerMillionTokens: number;
    apiCostPerMillionTokens: number;
    /** Both spends extrapolated to a month at the window's rate. */
    monthlySpend: number;
    monthlyApiEquivalentSpend: number;
  };
  formulas: string[];
}

export const LIVE_FORMULAS = [
  'paid GPU-s      = replicas × GPUs per replica × window           (idle time is paid)',
  'busy GPU-s      = Σ replicas’ busy seconds (≥ 1 request in flight) × GPUs per replica',
  'utilization     = busy GPU-s ÷ paid GPU-s',
  'pool spend      = paid GPU-s ÷ 3600 × GPU $/h + hosted spend',
  'pool $/1M       = pool spend ÷ (prompt + completion tokens) × 1e6',
  'API equivalent  = (prompt tokens × API $in + completion tokens × API $out) ÷ 1e6',
  'monthly         = spend × (365/12 × 86,400 s ÷ window)',
];

const perMillion = (spend: number, tokens: number) => (tokens === 0 ? 0 : (spend / tokens) * 1e6);

export function liveReport(
  window: LiveWindow<LivePoolUsage>,
  api: ApiPrice & { source: string },
  now = new Date(),
): LiveReport {
  const costs = realizedCosts(window.pools, api);
  const pools = window.pools.map((usage, index) => {
    const cost = costs[index] as RealizedPoolCost;
    return {
      ...usage,
      ...cost,
      apiCostPerMillionTokens: perMillion(cost.apiEquivalentSpend, usage.promptTokens + usage.completionTokens),
    };
  });
  const sum = (pick: (pool: LivePoolReport) => number) => pools.reduce((total, pool) => total + pick(pool), 0);
  const tokens = sum((pool) => pool.promptTokens + pool.completionTokens);
  const spend = sum((pool) => pool.selfHostedSpend);
  const apiEquivalentSpend = sum((pool) => pool.apiEquivalentSpend);
  const toMonth = (DAYS_PER_MONTH * SECONDS_PER_DAY) / window.windowS;
  return {
    createdAt: now.toISOString(),
    windowS: window.windowS,
    source: window.description,
    api,
    pools,
    totals: {
      promptTokens: sum((pool) => pool.promptTokens),
      completionTokens: sum((pool) => pool.completionTokens),
      spend,
      apiEquivalentSpend,
      costPerMillionTokens: perMillion(spend, tokens),
      apiCostPerMillionTokens: perMillion(apiEquivalentSpend, tokens),
      monthlySpend: spend * toMonth,
      monthlyApiEquivalentSpend: apiEquivalentSpend * toMonth,
    },
    formulas: LIVE_FORMULAS,
  };
}

const money = (value: number) =>
  value >= 100 ? `$${value.toFixed(0)}` : value >= 1 ? `$${value.toFixed(2)}` : `$${value.toPrecision(3)}`;

export function formatLiveReport(report: LiveReport): string {
  const header = [
    'pool',
    'kind',
    'GPUs',
    'prompt tok',
    'completion tok',
    'utilization',
    'spend',
    '$/1M',
    `API ${report.api.name}`,
    'API $/1M',
  ];
  const rows = report.pools.map((pool) => [
    pool.pool,
    pool.kind,
    pool.kind === 'vllm' ? `${pool.replicas}×${pool.gpusPerReplica} ${pool.gpu}` : '—',
    String(pool.promptTokens),
    String(pool.completionTokens),
    pool.utilizationSource === 'none'
      ? '—'
      : `${(pool.utilization * 100).toFixed(1)}%${pool.utilizationSource === 'capacity-estimate' ? ' (est.)' : ''}`,
    money(pool.selfHostedSpend),
    pool.promptTokens + pool.completionTokens === 0 ? '—' : money(pool.costPerMillionTokens),
    money(pool.apiEquivalentSpend),
    pool.promptTokens + pool.completionTokens === 0 ? '—' : money(pool.apiCostPerMillionTokens),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  const { totals } = report;
  return [
    `live cost over ${report.windowS.toFixed(1)} s — ${report.source}`,
    `API: ${report.api.name} $${report.api.input}/1M in, $${report.api.output}/1M out (${report.api.source})`,
    '',
    line(header),
    ...rows.map(line),
    '',
    `total: ${totals.promptTokens} prompt + ${totals.completionTokens} completion tokens; self-hosted ${money(totals.spend)} ` +
      `(${money(totals.costPerMillionTokens)}/1M) vs API ${money(totals.apiEquivalentSpend)} (${money(totals.apiCostPerMillionTokens)}/1M)`,
    `per month at this rate: self-hosted ${money(totals.monthlySpend)} vs API ${money(totals.monthlyApiEquivalentSpend)}`,
    '',
    ...report.formulas,
  ].join('\n');
}

/** `60`, `60s`, `5m`, `1h`, `1.5h` → seconds. */
export function parseWindow(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  const factor = { ms: 0.001, s: 1, m: 60, h: 3600 } as const;
  const seconds = match ? Number(match[1]) * factor[(match[2] ?? 's') as keyof typeof factor] : Number.NaN;
  if (!(seconds > 0)) throw new InvalidInputError(`--window: "${text}" is not a duration > 0 (e.g. 60s, 5m, 1h)`);
  return seconds;
}
