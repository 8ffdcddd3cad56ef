// Live mode (extension point): realized utilization and $/1M per pool from the router's own metrics over a window.
// The router does not export these counters yet; when it does, implement `LiveUsageSource` over its Prometheus
// endpoint (or a Prometheus server) and feed `realizedCosts` — the arithmetic below is already final and tested.
import { BenchmarkError } from '../loadgen/errors.ts';
import type { ApiPrice } from './formulas.ts';

/** Counters of one pool over the window, as the router will export them. */
export interface PoolUsage {
  pool: string;
  /** Prompt and completion tokens served by the pool's replicas. */
  promptTokens: number;
  completionTokens: number;
  /** GPU-seconds billed: replicas × GPUs per replica × seconds alive (idle included). */
  gpuSeconds: number;
  /** GPU-seconds spent busy (at least one sequence running), for realized utilization. */
  busyGpuSeconds: number;
  /** $ per GPU-hour of the pool's GPUs. */
  gpuHourly: number;
  /** $ actually spent on hosted APIs by this pool (spill-over), if any. */
  hostedSpend: number;
}

export interface LiveUsageSource {
  /** Usage per pool over the last `windowS` seconds. */
  usage(windowS: number): Promise<PoolUsage[]>;
}

export interface RealizedPoolCost {
  pool: string;
  utilization: number;
  selfHostedSpend: number;
  costPerMillionTokens: number;
  /** What the same tokens would have cost on the API. */
  apiEquivalentSpend: number;
}

export function realizedCosts(usage: readonly PoolUsage[], api: ApiPrice): RealizedPoolCost[] {
  return usage.map((pool) => {
    const selfHostedSpend = (pool.gpuSeconds / 3600) * pool.gpuHourly + pool.hostedSpend;
    const tokens = pool.promptTokens + pool.completionTokens;
    return {
      pool: pool.pool,
      utilization: pool.gpuSeconds === 0 ? 0 : pool.busyGpuSeconds / pool.gpuSeconds,
      selfHostedSpend,
      costPerMillionTokens: tokens === 0 ? 0 : (selfHostedSpend / tokens) * 1e6,
      apiEquivalentSpend: (pool.promptTokens * api.input + pool.completionTokens * api.output) / 1e6,
    };
  });
}

/** The source the CLI uses until the router exports its usage counters. */
export function routerMetricsSource(metricsUrl: string): LiveUsageSource {
  return {
    usage: () =>
      Promise.reject(
        new BenchmarkError(
          `live mode needs the router's usage metrics (tokens, GPU-seconds, hosted spend per pool) at ${metricsUrl}; ` +
            'the router does not export them yet — use --from-bench or --estimate',
          501,
        ),
      ),
  };
}
