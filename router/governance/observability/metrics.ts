// Governance metrics, registered on the router's own registry (one per router instance). Conventional names: base
// units (seconds, dollars as `_usd`), `_total` for counters. Key ids (never keys) label per-key gauges.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { CostMeter } from '../cost/cost.ts';

export type GovernanceStage = 'auth' | 'limits' | 'budget' | 'guard_input' | 'prompt' | 'cache' | 'settle';

const STAGE_BUCKETS = [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.05];
const TTFT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];
const ITL_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.5];

/** A labelled counter increment or gauge value taken on the request path and handed to prom-client at scrape time. */
export interface LabelledSink<L extends string> {
  inc(labels: Record<L, string>, value: number): void;
}

/**
 * prom-client validates and hashes the labels on every increment (~0.5–1 µs each). Settle's counters are summed per
 * label set here (a map lookup) and handed over in the metric's `collect()`, which every scrape, `registry.metrics()`
 * and `metric.get()` run: one prom-client call per label set and scrape instead of one per request, and a scrape
 * shows the same totals.
 */
class DeferredIncrements<L extends string> implements LabelledSink<L> {
  private readonly pending = new Map<string, { labels: Record<L, string>; value: number }>();
  constructor(
    private readonly labelNames: readonly L[],
    private readonly apply: (labels: Record<L, string>, value: number) => void,
  ) {}

  inc(labels: Record<L, string>, value: number): void {
    let id = '';
    for (const name of this.labelNames) id += `${labels[name]}\u0000`;
    const entry = this.pending.get(id);
    if (entry) entry.value += value;
    else if (this.pending.size >= 10_000) this.apply(labels, value);
    else this.pending.set(id, { labels: { ...labels }, value });
  }

  flush(): void {
    for (const { labels, value } of this.pending.values()) this.apply(labels, value);
    this.pending.clear();
  }
}

/** Last value per label set until the gauge's `collect()`. */
class DeferredValues<L extends string> {
  private readonly pending = new Map<string, { labels: Record<L, string>; value: number }>();
  constructor(
    private readonly labelNames: readonly L[],
    private readonly apply: (labels: Record<L, string>, value: number) => void,
  ) {}

  set(labels: Record<L, string>, value: number): void {
    let id = '';
    for (const name of this.labelNames) id += `${labels[name]}\u0000`;
    if (this.pending.size >= 10_000 && !this.pending.has(id)) this.flush();
    this.pending.set(id, { labels: { ...labels }, value });
  }

  flush(): void {
    for (const { labels, value } of this.pending.values()) this.apply(labels, value);
    this.pending.clear();
  }
}

export interface GovernanceMetrics {
  readonly authFailures: Counter<'reason'>;
  readonly rateLimited: Counter<'limit'>;
  readonly budgetRejections: Counter<'period'>;
  readonly budgetAlerts: Counter<'period' | 'threshold'>;
  /** Set on every settle with a budget; reaches the gauge at scrape time. */
  readonly budgetRemaining: { set(labels: Record<'key' | 'period', string>, usd: number): void };
  /** Incremented on every settle; reaches `switchyard_cost_usd_total` at scrape time. */
  readonly cost: LabelledSink<'model' | 'pool' | 'kind' | 'team'>;
  /** Incremented on every settle; reaches `switchyard_pool_tokens_total` at scrape time. */
  readonly poolTokens: LabelledSink<'pool' | 'kind'>;
  readonly guardrail: Counter<'stage' | 'rule' | 'action'>;
  readonly cache: Counter<'result'>;
  readonly prompts: Counter<'prompt' | 'version' | 'hash'>;
  readonly ttft: Histogram<'model'>;
  readonly interToken: Histogram<'model'>;
  readonly stage: Readonly<Record<GovernanceStage, { observe(seconds: number): void }>>;
}

export function createGovernanceMetrics(
  registry: Registry,
  sources: { costMeter: CostMeter; cacheBytes: () => number },
): GovernanceMetrics {
  const registers = [registry];
  const stages: GovernanceStage[] = ['auth', 'limits', 'budget', 'guard_input', 'prompt', 'cache', 'settle'];
  const stageHistogram = new Histogram({
    name: 'switchyard_governance_stage_duration_seconds',
    help: 'Time the governance chain spends per stage (auth, limits, budget, guard_input, prompt, cache, settle).',
    labelNames: ['stage'],
    buckets: STAGE_BUCKETS,
    registers,
  });
  // Observed directly: deferring observations would only move their cost (and a burst of it) elsewhere.
  const stage = {} as Record<GovernanceStage, { observe(seconds: number): void }>;
  for (const name of stages) stage[name] = stageHistogram.labels({ stage: name });
  const costLabels = ['model', 'pool', 'kind', 'team'] as const;
  const cost: DeferredIncrements<(typeof costLabels)[number]> = new DeferredIncrements(costLabels, (labels, value) =>
    costCounter.inc(labels, value),
  );
  const costCounter = new Counter({
    name: 'switchyard_cost_usd_total',
    help: 'Cost of served requests: hosted prices or the GPU-seconds share of self-hosted backends.',
    labelNames: costLabels,
    registers,
    collect() {
      cost.flush();
    },
  });
  const poolTokenLabels = ['pool', 'kind'] as const;
  const poolTokens: DeferredIncrements<(typeof poolTokenLabels)[number]> = new DeferredIncrements(
    poolTokenLabels,
    (labels, value) => poolTokenCounter.inc(labels, value),
  );
  const poolTokenCounter = new Counter({
    name: 'switchyard_pool_tokens_total',
    help: 'Prompt and completion tokens served by each pool (settled requests; cache hits excluded).',
    labelNames: poolTokenLabels,
    registers,
    collect() {
      poolTokens.flush();
    },
  });
  const remainingLabels = ['key', 'period'] as const;
  const budgetRemaining: DeferredValues<(typeof remainingLabels)[number]> = new DeferredValues(
    remainingLabels,
    (labels, value) => remainingGauge.set(labels, value),
  );
  const remainingGauge = new Gauge({
    name: 'switchyard_budget_remaining_usd',
    help: 'Budget left for each key and period after its last settled request.',
    labelNames: remainingLabels,
    registers,
    collect() {
      budgetRemaining.flush();
    },
  });

  // Monotonic totals computed from the cost meter at scrape time: counters (so rate() applies), reset and refilled.
  const gpuGauge = (
    name: string,
    help: string,
    pick: (entry: ReturnType<CostMeter['snapshot']>[number]) => number,
  ): void => {
    new Counter({
      name,
      help,
      labelNames: ['backend', 'pool'],
      registers,
      collect() {
        this.reset();
        for (const entry of sources.costMeter.snapshot())
          this.inc({ backend: entry.backend, pool: entry.pool }, pick(entry));
      },
    });
  };
  gpuGauge(
    'switchyard_gpu_cost_usd_total',
    'GPU cost of each self-hosted backend since the router started (busy + idle).',
    (entry) => entry.gpuCostUsd,
  );
  gpuGauge(
    'switchyard_gpu_idle_cost_usd_total',
    'GPU cost of idle time (no request in flight): waste, charged to no one.',
    (entry) => entry.idleCostUsd,
  );
  gpuGauge(
    'switchyard_gpu_attributed_cost_usd_total',
    'GPU cost attributed to requests by their token share.',
    (entry) => entry.attributedUsd,
  );
  gpuGauge(
    'switchyard_gpu_busy_seconds_total',
    'Seconds each self-hosted backend had at least one request in flight.',
    (entry) => entry.busySeconds,
  );
  new Gauge({
    name: 'switchyard_cache_bytes',
    help: 'Bytes held by the exact response cache.',
    registers,
    collect() {
      this.set(sources.cacheBytes());
    },
  });

  return {
    stage,
    authFailures: new Counter({
      name: 'switchyard_auth_failures_total',
      help: 'Requests refused by key authentication (missing, invalid, disabled, model_not_allowed).',
      labelNames: ['reason'],
      registers,
    }),
    rateLimited: new Counter({
      name: 'switchyard_rate_limited_total',
      help: 'Requests refused with 429 by a per-key rate limit (requests or tokens per minute).',
      labelNames: ['limit'],
      registers,
    }),
    budgetRejections: new Counter({
      name: 'switchyard_budget_rejections_total',
      help: 'Requests refused because their worst-case cost did not fit the key’s budget.',
      labelNames: ['period'],
      registers,
    }),
    budgetAlerts: new Counter({
      name: 'switchyard_budget_alerts_total',
      help: 'Budget alert thresholds crossed (once per key, period and threshold).',
      labelNames: ['period', 'threshold'],
      registers,
    }),
    budgetRemaining,
    cost,
    poolTokens,
    guardrail: new Counter({
      name: 'switchyard_guardrail_decisions_total',
      help: 'Guardrail decisions by stage (input, output), rule and action (block, redact, flag).',
      labelNames: ['stage', 'rule', 'action'],
      registers,
    }),
    cache: new Counter({
      name: 'switchyard_cache_requests_total',
      help: 'Exact response cache lookups by result (hit, miss, bypass).',
      labelNames: ['result'],
      registers,
    }),
    prompts: new Counter({
      name: 'switchyard_prompt_requests_total',
      help: 'Requests rendered from the prompt registry, by prompt, version and rendered-prompt hash.',
      labelNames: ['prompt', 'version', 'hash'],
      registers,
    }),
    ttft: new Histogram({
      name: 'switchyard_time_to_first_token_seconds',
      help: 'Time from request arrival to the first content sent to the client (streams).',
      labelNames: ['model'],
      buckets: TTFT_BUCKETS,
      registers,
    }),
    interToken: new Histogram({
      name: 'switchyard_inter_token_latency_seconds',
      help: 'Gap between consecutive content chunks sent to the client (streams).',
      labelNames: ['model'],
      buckets: ITL_BUCKETS,
      registers,
    }),
  };
}
