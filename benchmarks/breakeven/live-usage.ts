// Per-pool usage over a window from two scrapes of the router's `/metrics` (start, end): counter deltas, replicas and
// GPUs from the pool gauges. Pure (no I/O), so it is tested on hand-written snapshots.
//
//   tokens          Δ switchyard_pool_tokens_total{pool,kind=prompt|completion}        (governance cost meter)
//   hosted spend    Δ switchyard_cost_usd_total{pool,kind="hosted"}                    (summed over model, team)
//   busy GPU-s      Σ_backend Δ switchyard_gpu_busy_seconds_total{backend,pool} × GPUs per replica
//   paid GPU-s      replicas × GPUs per replica × window   (replicas: the pool's switchyard_backend_in_flight_requests
//                   series, averaged over the two scrapes; GPUs: switchyard_pool_info{gpus})
// A counter that went down between the scrapes was reset (router restart): its end value is the increase, as
// Prometheus' increase() assumes.
import type { PromSample } from '../../deploy/telemetry/prom-text.ts';
import { GpuId, GPUS } from '../../models/catalog/gpus.ts';
import { MODELS, ModelId } from '../../models/catalog/models.ts';
import { gpuHourlyPrice, type PriceFile } from '../../models/catalog/prices.ts';
import { InvalidInputError } from '../loadgen/errors.ts';
import { estimateCapacity, type LatencySlo } from './estimate.ts';
import type { RequestProfile } from './formulas.ts';
import type { PoolUsage } from './live.ts';

export type UtilizationSource = 'busy-time' | 'capacity-estimate' | 'none';

/** PoolUsage plus what the report needs to describe the pool. */
export interface LivePoolUsage extends PoolUsage {
  kind: string;
  model: string;
  gpu: string;
  gpusPerReplica: number;
  /** Average of the replica counts at the two scrapes. */
  replicas: number;
  /** Where busyGpuSeconds came from: the router's busy-time counter, or tokens ÷ estimated capacity. */
  utilizationSource: UtilizationSource;
}

export interface UsageOptions {
  windowS: number;
  prices: PriceFile;
  /** $ per GPU-hour for every self-hosted pool instead of the catalog price. */
  gpuHourly?: number;
  /** For the capacity fallback when the router has no busy-time counter. */
  profile: RequestProfile;
  slo: LatencySlo;
}

const seriesKey = (sample: PromSample) =>
  `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))}`;

/** Increase of every series of `name` between the scrapes, with its labels. */
function increases(
  start: readonly PromSample[],
  end: readonly PromSample[],
  name: string,
): Array<{ labels: Readonly<Record<string, string>>; value: number }> {
  const before = new Map<string, number>();
  for (const sample of start) if (sample.name === name) before.set(seriesKey(sample), sample.value);
  return end
    .filter((sample) => sample.name === name)
    .map((sample) => {
      const initial = before.get(seriesKey(sample)) ?? 0;
      return { labels: sample.labels, value: sample.value >= initial ? sample.value - initial : sample.value };
    });
}

const sumWhere = (
  rows: ReadonlyArray<{ labels: Readonly<Record<string, string>>; value: number }>,
  match: Record<string, string>,
) =>
  rows
    .filter((row) => Object.entries(match).every(([label, value]) => row.labels[label] === value))
    .reduce((sum, row) => sum + row.value, 0);

function replicaCount(samples: readonly PromSample[], pool: string): number {
  const backends = new Set<string>();
  for (const sample of samples) {
    if (sample.name === 'switchyard_backend_in_flight_requests' && sample.labels['pool'] === pool)
      backends.add(sample.labels['backend'] ?? '');
  }
  return backends.size;
}

function poolInfo(
  start: readonly PromSample[],
  end: readonly PromSample[],
): Map<string, Readonly<Record<string, string>>> {
  const pools = new Map<string, Readonly<Record<string, string>>>();
  for (const sample of [...start, ...end]) {
    if (sample.name === 'switchyard_pool_info' && sample.labels['pool'])
      pools.set(sample.labels['pool'], sample.labels);
  }
  return pools;
}

/** Metrics only the governance cost meter exports; without them the router cannot say what a pool served. */
const COST_METER_SERIES = [
  'switchyard_pool_tokens_total',
  'switchyard_gpu_busy_seconds_total',
  'switchyard_cache_bytes',
];

/** Throws a clear error when a scrape cannot feed live mode (so a long window is not waited for nothing). */
export function assertUsageMetrics(samples: readonly PromSample[]): void {
  if (!samples.some((sample) => sample.name === 'switchyard_pool_info')) {
    throw new InvalidInputError(
      'these metrics have no switchyard_pool_info series: not a Switchyard router, or one too old for live mode',
    );
  }
  if (!samples.some((sample) => COST_METER_SERIES.includes(sample.name))) {
    throw new InvalidInputError(
      'the router exports no usage counters (switchyard_pool_tokens_total, switchyard_gpu_busy_seconds_total): ' +
        'live mode reads the governance cost meter — set `governance: {enabled: true}` in the router config',
    );
  }
}

export function usageBetween(
  start: readonly PromSample[],
  end: readonly PromSample[],
  options: UsageOptions,
): LivePoolUsage[] {
  if (!(options.windowS > 0)) throw new InvalidInputError(`the window must be > 0 s (got ${options.windowS})`);
  assertUsageMetrics(end);
  const pools = poolInfo(start, end);
  const tokens = increases(start, end, 'switchyard_pool_tokens_total');
  const busy = increases(start, end, 'switchyard_gpu_busy_seconds_total');
  const cost = increases(start, end, 'switchyard_cost_usd_total');
  const hasBusyCounter = end.some((sample) => sample.name === 'switchyard_gpu_busy_seconds_total');

  return [...pools.entries()].map(([pool, labels]) => {
    const kind = labels['kind'] ?? '';
    const selfHosted = kind === 'vllm';
    const gpusPerReplica = selfHosted ? Number(labels['gpus'] ?? '1') || 1 : 0;
    const replicas = selfHosted ? (replicaCount(start, pool) + replicaCount(end, pool)) / 2 : 0;
    const gpuSeconds = replicas * gpusPerReplica * options.windowS;
    const promptTokens = sumWhere(tokens, { pool, kind: 'prompt' });
    const completionTokens = sumWhere(tokens, { pool, kind: 'completion' });
    const gpu = labels['gpu'] ?? '';
    let gpuHourly = 0;
    if (selfHosted) {
      const gpuId = GpuId.safeParse(gpu);
      if (options.gpuHourly !== undefined) gpuHourly = options.gpuHourly;
      else if (gpuId.success) gpuHourly = gpuHourlyPrice(options.prices, gpuId.data);
      else throw new InvalidInputError(`pool ${pool}: GPU "${gpu}" is not in the catalog; give --gpu-hourly`);
    }
    let busyGpuSeconds = 0;
    let utilizationSource: UtilizationSource = 'none';
    if (selfHosted && hasBusyCounter) {
      busyGpuSeconds = Math.min(gpuSeconds, sumWhere(busy, { pool }) * gpusPerReplica);
      utilizationSource = 'busy-time';
    } else if (selfHosted) {
      const model = ModelId.safeParse(labels['model']);
      const gpuId = GpuId.safeParse(gpu);
      if (model.success && gpuId.success) {
        // Time the pool would have needed at its estimated capacity to serve these tokens.
        const capacity = estimateCapacity({
          model: MODELS[model.data],
          gpu: GPUS[gpuId.data],
          tensorParallel: gpusPerReplica,
          profile: options.profile,
          slo: options.slo,
        });
        busyGpuSeconds = Math.min(
          gpuSeconds,
          ((promptTokens + completionTokens) / capacity.totalTokensPerS) * gpusPerReplica,
        );
        utilizationSource = 'capacity-estimate';
      }
    }
    return {
      pool,
      kind,
      model: labels['model'] ?? '',
      gpu,
      gpusPerReplica,
      replicas,
      promptTokens,
      completionTokens,
      gpuSeconds,
      busyGpuSeconds,
      gpuHourly,
      hostedSpend: sumWhere(cost, { pool, kind: 'hosted' }),
      utilizationSource,
    };
  });
}
