// What a request costs, never $0 for served tokens.
//
// Hosted pools: prompt/completion tokens × the catalog's $/1M prices of the upstream model (models/catalog/prices.yaml),
// or the pool's blended `costPer1MTokens` when the catalog has no entry.
//
// Self-hosted pools (vLLM on our GPUs): a backend costs `gpus × $/GPU-hour` whether busy or not. Busy time (any
// request in flight, measured as the union of request intervals) is shared by the requests served in it, in proportion
// to their weighted tokens (prompt tokens × promptTokenWeight + completion tokens): over a sliding window W a backend
// has busy cost B and served T weighted tokens, and a request with t weighted tokens is charged t × B / T (the window
// includes the request itself, so a request alone on an idle backend pays for exactly its own busy time). Idle time
// is never charged to anyone: it is reported as waste (`switchyard_gpu_idle_cost_usd_total`).
import type { HostedPrice, PriceFile } from '../../../models/catalog/prices.ts';

export type PoolPricing =
  | { kind: 'hosted'; pool: string; upstreamModel: string; inputPer1M: number; outputPer1M: number }
  | { kind: 'self-hosted'; pool: string; gpus: number; hourlyPerGpu: number };

export interface ServedUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface CostOptions {
  windowSeconds: number;
  promptTokenWeight: number;
  bootstrapTokensPerGpuSecond: number;
  clock?: () => number;
}

interface WindowEntry {
  at: number;
  busyMs: number;
  tokens: number;
}

interface BackendMeter {
  pool: string;
  pricing: Extract<PoolPricing, { kind: 'self-hosted' }>;
  firstSeen: number;
  busyUntil: number;
  busyMsTotal: number;
  attributedUsd: number;
  /** Entries in arrival order; those before `head` have left the window (compacted now and then, not shifted). */
  window: WindowEntry[];
  head: number;
  /** Running sums over window[head..]: the cost rule reads them on every request, so they are never re-summed. */
  windowBusyMs: number;
  windowTokens: number;
}

export interface BackendCostSnapshot {
  backend: string;
  pool: string;
  busySeconds: number;
  idleSeconds: number;
  gpuCostUsd: number;
  idleCostUsd: number;
  attributedUsd: number;
}

/** Hosted price of an upstream model from the price file; the blended pool price when the catalog has none. */
export function hostedPricing(
  prices: PriceFile,
  pool: string,
  upstreamModel: string,
  blendedPer1M: number,
): Extract<PoolPricing, { kind: 'hosted' }> {
  const entry: HostedPrice | undefined = prices.hosted[upstreamModel];
  return entry
    ? { kind: 'hosted', pool, upstreamModel, inputPer1M: entry.input, outputPer1M: entry.output }
    : { kind: 'hosted', pool, upstreamModel, inputPer1M: blendedPer1M, outputPer1M: blendedPer1M };
}

export class CostMeter {
  private readonly backends = new Map<string, BackendMeter>();
  private readonly clock: () => number;

  constructor(private readonly options: CostOptions) {
    this.clock = options.clock ?? Date.now;
  }

  private weighted(usage: ServedUsage): number {
    return usage.promptTokens * this.options.promptTokenWeight + usage.completionTokens;
  }

  /** Starts idle-time accounting for a self-hosted backend (otherwise it starts at its first request). */
  registerBackend(backendId: string, pricing: Extract<PoolPricing, { kind: 'self-hosted' }>): void {
    if (this.backends.has(backendId)) return;
    const now = this.clock();
    this.backends.set(backendId, {
      pool: pricing.pool,
      pricing,
      firstSeen: now,
      busyUntil: 0,
      busyMsTotal: 0,
      attributedUsd: 0,
      window: [],
      head: 0,
      windowBusyMs: 0,
      windowTokens: 0,
    });
  }

  /** $ per weighted token a self-hosted backend currently costs (window rate; bootstrap rate before any traffic). */
  private selfHostedRate(
    backendId: string | undefined,
    pricing: Extract<PoolPricing, { kind: 'self-hosted' }>,
  ): number {
    const bootstrap = pricing.hourlyPerGpu / 3600 / this.options.bootstrapTokensPerGpuSecond;
    const meter = backendId ? this.backends.get(backendId) : undefined;
    if (!meter) return bootstrap;
    const { busyMs, tokens } = this.windowTotals(meter, this.clock());
    if (tokens <= 0) return bootstrap;
    return ((busyMs / 1000) * dollarsPerSecond(pricing)) / tokens;
  }

  private windowTotals(meter: BackendMeter, now: number): { busyMs: number; tokens: number } {
    const horizon = now - this.options.windowSeconds * 1000;
    const window = meter.window;
    while (meter.head < window.length && (window[meter.head] as WindowEntry).at < horizon) {
      const expired = window[meter.head] as WindowEntry;
      meter.windowBusyMs -= expired.busyMs;
      meter.windowTokens -= expired.tokens;
      meter.head++;
    }
    if (meter.head === window.length) {
      // Empty: reset exactly (no floating-point residue from the subtractions).
      window.length = 0;
      meter.head = 0;
      meter.windowBusyMs = 0;
      meter.windowTokens = 0;
    } else if (meter.head >= 1024 && meter.head * 2 >= window.length) {
      window.splice(0, meter.head);
      meter.head = 0;
      meter.windowBusyMs = 0;
      meter.windowTokens = 0;
      for (const entry of window) {
        meter.windowBusyMs += entry.busyMs;
        meter.windowTokens += entry.tokens;
      }
    }
    return { busyMs: meter.windowBusyMs, tokens: meter.windowTokens };
  }

  /**
   * Worst-case cost of a request before it runs: prompt + max_tokens at the most expensive candidate pool. For
   * self-hosted pools, the higher of the live window rate and the bootstrap rate (× 2 as a margin for a busy spike).
   */
  worstCaseUsd(candidates: readonly PoolPricing[], promptTokens: number, maxTokens: number): number {
    let worst = 0;
    for (const pricing of candidates) {
      const cost =
        pricing.kind === 'hosted'
          ? (promptTokens * pricing.inputPer1M + maxTokens * pricing.outputPer1M) / 1e6
          : this.weighted({ promptTokens, completionTokens: maxTokens }) *
            2 *
            Math.max(this.selfHostedRate(undefined, pricing), this.maxBackendRate(pricing.pool, pricing));
      worst = Math.max(worst, cost);
    }
    return worst;
  }

  private maxBackendRate(pool: string, pricing: Extract<PoolPricing, { kind: 'self-hosted' }>): number {
    let rate = 0;
    for (const [id, meter] of this.backends)
      if (meter.pool === pool) rate = Math.max(rate, this.selfHostedRate(id, pricing));
    return rate;
  }

  /** The real cost of a served request. For self-hosted backends this also books its busy time. */
  charge(
    pricing: PoolPricing,
    usage: ServedUsage,
    served: { backendId: string; startedAt: number; endedAt: number },
  ): number {
    if (pricing.kind === 'hosted') {
      return (usage.promptTokens * pricing.inputPer1M + usage.completionTokens * pricing.outputPer1M) / 1e6;
    }
    this.registerBackend(served.backendId, pricing);
    const meter = this.backends.get(served.backendId) as BackendMeter;
    if (meter.firstSeen > served.startedAt) meter.firstSeen = served.startedAt;
    // Union of intervals, assuming requests settle roughly in end order: only time past the watermark is new.
    const newBusy = Math.max(0, served.endedAt - Math.max(served.startedAt, meter.busyUntil));
    meter.busyUntil = Math.max(meter.busyUntil, served.endedAt);
    meter.busyMsTotal += newBusy;
    const tokens = this.weighted(usage);
    meter.window.push({ at: served.endedAt, busyMs: newBusy, tokens });
    meter.windowBusyMs += newBusy;
    meter.windowTokens += tokens;
    const totals = this.windowTotals(meter, Math.max(this.clock(), served.endedAt));
    // A request that produced tokens is never free, even with a zero-length interval (clock granularity).
    const busyMs = Math.max(totals.busyMs, 1);
    const cost = totals.tokens > 0 ? (tokens * (busyMs / 1000) * dollarsPerSecond(pricing)) / totals.tokens : 0;
    meter.attributedUsd += cost;
    return cost;
  }

  snapshot(): BackendCostSnapshot[] {
    const now = this.clock();
    return [...this.backends.entries()].map(([backend, meter]) => {
      const elapsedSeconds = Math.max(0, now - meter.firstSeen) / 1000;
      const busySeconds = Math.min(elapsedSeconds, meter.busyMsTotal / 1000);
      const perSecond = dollarsPerSecond(meter.pricing);
      return {
        backend,
        pool: meter.pool,
        busySeconds,
        idleSeconds: elapsedSeconds - busySeconds,
        gpuCostUsd: elapsedSeconds * perSecond,
        idleCostUsd: (elapsedSeconds - busySeconds) * perSecond,
        attributedUsd: meter.attributedUsd,
      };
    });
  }
}

function dollarsPerSecond(pricing: Extract<PoolPricing, { kind: 'self-hosted' }>): number {
  return (pricing.gpus * pricing.hourlyPerGpu) / 3600;
}
