import type { BackendState, FilterPlugin, SchedulingRequest } from '../../../contracts.ts';
import { keepWhere } from '../../normalize.ts';

export interface NotSaturatedOptions {
  maxQueue: number;
  maxKvCacheUsage: number;
  maxInFlightRequests?: number | undefined;
  /** Router-side prompt tokens admitted but not yet past their first token (no scrape lag); unset = no limit. */
  maxPendingPrefillTokens?: number | undefined;
  requireMetrics: boolean;
}

/** True when the backend cannot take more work now (or we cannot tell: stale or missing metrics fail closed). */
export function isSaturated(backend: BackendState, options: NotSaturatedOptions): boolean {
  if (options.maxInFlightRequests !== undefined && backend.inFlightRequests >= options.maxInFlightRequests) return true;
  if (backend.kind === 'openai') return false; // hosted APIs export no engine metrics; rate limits surface as 429s
  // Zero-lag counterpart of maxQueue: between two scrapes a replica whose last scrape looked fine can be handed a
  // whole burst while its neighbours read as KV-full; its own pending prefill says it is full before the next scrape.
  if (
    options.maxPendingPrefillTokens !== undefined &&
    (backend.pendingPrefillTokens ?? 0) > options.maxPendingPrefillTokens
  ) {
    return true;
  }
  if (backend.metricsStale) return true;
  const metrics = backend.metrics;
  if (!metrics) return options.requireMetrics;
  return metrics.requestsWaiting > options.maxQueue || metrics.kvCacheUsage > options.maxKvCacheUsage;
}

const hasRoom = (backend: BackendState, options: NotSaturatedOptions): boolean => !isSaturated(backend, options);

export function createNotSaturatedFilter(options: NotSaturatedOptions): FilterPlugin & { dropsForSaturation: true } {
  return {
    name: 'not-saturated',
    dropsForSaturation: true,
    filter(_request: SchedulingRequest, candidates: readonly BackendState[]): readonly BackendState[] {
      return keepWhere(candidates, hasRoom, options);
    },
  };
}
