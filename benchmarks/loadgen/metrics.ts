// Summary metrics, defined exactly as vLLM's `vllm bench serve` (vllm/benchmarks/serve.py, calculate_metrics) defines
// them; see README.md for the definitions and the one deliberate difference (TTFT skips empty role-only chunks).
import type { GoodputSlo } from './config.ts';
import type { ErrorType, RequestRecord } from './records.ts';

export interface Distribution {
  mean: number;
  median: number;
  std: number;
  /** percentile (e.g. "99") → value. */
  percentiles: Record<string, number>;
  count: number;
}

export interface Summary {
  durationS: number;
  completed: number;
  failed: number;
  /** Requests cancelled when the run's bound was reached; counted neither as completed nor as failed. */
  cancelled: number;
  errorsByType: Partial<Record<ErrorType, number>>;
  totalInputTokens: number;
  totalOutputTokens: number;
  requestThroughput: number;
  /** Requests/s meeting every SLO; null when no SLO was given. */
  requestGoodput: number | null;
  outputThroughput: number;
  totalTokenThroughput: number;
  ttftMs: Distribution;
  tpotMs: Distribution;
  itlMs: Distribution;
  e2elMs: Distribution;
  /** Highest output tokens in any one-second bucket (vLLM's "peak output token throughput"). */
  peakOutputTokensPerS: number;
  /** Open loop only: send time − scheduled time. */
  sendLagMs?: Distribution;
}

/** numpy.percentile's default ("linear"): rank p/100·(n−1) between the two nearest order statistics. */
export function percentile(sortedValues: readonly number[], p: number): number {
  if (sortedValues.length === 0) return 0;
  const rank = (p / 100) * (sortedValues.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  const low = sortedValues[lower] ?? 0;
  const high = sortedValues[upper] ?? low;
  return low + (high - low) * (rank - lower);
}

/** mean/median/std(ddof=0)/percentiles; an empty list gives zeros, as vLLM's `np.mean(x or 0)` does. */
export function distribution(values: readonly number[], percentiles: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const count = sorted.length;
  const mean = count === 0 ? 0 : sorted.reduce((sum, value) => sum + value, 0) / count;
  const variance = count === 0 ? 0 : sorted.reduce((sum, value) => sum + (value - mean) ** 2, 0) / count;
  const byPercentile: Record<string, number> = {};
  for (const p of percentiles) byPercentile[String(p)] = percentile(sorted, p);
  return { mean, median: percentile(sorted, 50), std: Math.sqrt(variance), percentiles: byPercentile, count };
}

/** TPOT of one request: (E2E − TTFT)/(output − 1); undefined below 2 output tokens or without a TTFT. */
export function timePerOutputToken(record: RequestRecord): number | undefined {
  if (record.ttftMs === null || record.outputTokens <= 1) return undefined;
  return (record.e2eMs - record.ttftMs) / (record.outputTokens - 1);
}

/** True when the request meets every SLO given; like vLLM, TPOT counts as 0 for outputs of ≤ 1 token. */
export function meetsSlo(record: RequestRecord, slo: GoodputSlo): boolean {
  if (!record.success) return false;
  if (slo.ttft !== undefined && (record.ttftMs === null || record.ttftMs > slo.ttft)) return false;
  if (slo.tpot !== undefined && (timePerOutputToken(record) ?? 0) > slo.tpot) return false;
  if (slo.e2el !== undefined && record.e2eMs > slo.e2el) return false;
  return true;
}

/** Times (ms since run start) at which each output token arrived; tokens of a multi-token chunk share its time. */
export function tokenArrivalTimes(record: RequestRecord): number[] {
  if (!record.success) return [];
  if (record.ttftMs === null) return Array.from({ length: record.outputTokens }, () => record.startMs + record.e2eMs);
  const chunkTimes = [record.startMs + record.ttftMs];
  for (const gap of record.itlMs) chunkTimes.push((chunkTimes.at(-1) ?? 0) + gap);
  // Spread the counted tokens over the chunks (servers may bundle several tokens in one chunk).
  return Array.from({ length: record.outputTokens }, (_, token) => {
    const chunk = Math.min(chunkTimes.length - 1, Math.floor((token * chunkTimes.length) / record.outputTokens));
    return chunkTimes[chunk] ?? 0;
  });
}

/** Output tokens and completed requests per one-second bucket since the run start. */
export function throughputTimeline(
  records: readonly RequestRecord[],
): { second: number; outputTokens: number; completed: number }[] {
  const buckets: { second: number; outputTokens: number; completed: number }[] = [];
  const bucket = (ms: number) => {
    const second = Math.max(0, Math.floor(ms / 1000));
    while (buckets.length <= second) buckets.push({ second: buckets.length, outputTokens: 0, completed: 0 });
    return buckets[second] as { second: number; outputTokens: number; completed: number };
  };
  for (const record of records) {
    if (!record.success) continue;
    for (const time of tokenArrivalTimes(record)) bucket(time).outputTokens += 1;
    bucket(record.startMs + record.e2eMs).completed += 1;
  }
  return buckets;
}

export function summarize(
  records: readonly RequestRecord[],
  durationS: number,
  slo: GoodputSlo,
  percentiles: readonly number[] = [50, 90, 95, 99],
): Summary {
  const succeeded = records.filter((record) => record.success);
  const errorsByType: Partial<Record<ErrorType, number>> = {};
  for (const record of records) {
    if (record.error) errorsByType[record.error.type] = (errorsByType[record.error.type] ?? 0) + 1;
  }
  const cancelled = errorsByType.cancelled ?? 0;
  const totalInputTokens = succeeded.reduce((sum, record) => sum + record.promptTokens, 0);
  const totalOutputTokens = succeeded.reduce((sum, record) => sum + record.outputTokens, 0);
  const tpots = succeeded.map(timePerOutputToken).filter((value): value is number => value !== undefined);
  const hasSlo = slo.ttft !== undefined || slo.tpot !== undefined || slo.e2el !== undefined;
  const good = hasSlo ? succeeded.filter((record) => meetsSlo(record, slo)).length : 0;
  const lags = records.flatMap((record) =>
    record.scheduledMs === undefined ? [] : [record.startMs - record.scheduledMs],
  );
  const summary: Summary = {
    durationS,
    completed: succeeded.length,
    failed: records.length - succeeded.length - cancelled,
    cancelled,
    errorsByType,
    totalInputTokens,
    totalOutputTokens,
    requestThroughput: succeeded.length / durationS,
    requestGoodput: hasSlo ? good / durationS : null,
    outputThroughput: totalOutputTokens / durationS,
    totalTokenThroughput: (totalInputTokens + totalOutputTokens) / durationS,
    ttftMs: distribution(
      succeeded.flatMap((record) => (record.ttftMs === null ? [] : [record.ttftMs])),
      percentiles,
    ),
    tpotMs: distribution(tpots, percentiles),
    itlMs: distribution(
      succeeded.flatMap((record) => record.itlMs),
      percentiles,
    ),
    e2elMs: distribution(
      succeeded.map((record) => record.e2eMs),
      percentiles,
    ),
    peakOutputTokensPerS: Math.max(0, ...throughputTimeline(succeeded).map((bucket) => bucket.outputTokens)),
  };
  if (lags.length > 0) summary.sendLagMs = distribution(lags, percentiles);
  return summary;
}
