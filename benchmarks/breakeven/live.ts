// Live mode: realized utilization and $/1M per pool from the router's own metrics over a window. Sources (live-source.ts)
// produce per-pool counters (live-usage.ts derives them from two scrapes); `realizedCosts` is the arithmetic.
import type { ApiPrice } from './formulas.ts';

/** Counters of one pool over the window. */
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

/** Usage per pool over a measured window. */
export interface LiveWindow<P extends PoolUsage = PoolUsage> {
  /** Seconds between the two readings (measured, not the nominal window). */
  windowS: number;
  /** Where the numbers came from, for the report. */
  description: string;
  pools: P[];
}

export interface LiveUsageSource<P extends PoolUsage = PoolUsage> {
  /** Usage per pool over a window of about `windowS` seconds. */
  usage(windowS: number): Promise<LiveWindow<P>>;
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
