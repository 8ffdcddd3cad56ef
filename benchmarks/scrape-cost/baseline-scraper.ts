// The scraper as it was at commit d3f1306 (router/scheduling/metrics/scraper.ts), kept unchanged as the baseline of
// benchmarks/scrape-cost.ts: a timer per round, a promise chain, an AbortSignal and a string body per scrape.
// Polls each vLLM replica's `/metrics` on a fixed interval and keeps the latest EndpointMetrics per backend. A
// backend whose last good scrape is older than `staleAfterMs` (or that was never scraped) reads as stale; the
// not-saturated filter then drops it (fail closed), so a silent replica is never picked blind.
import { request as undiciRequest } from 'undici';
import type { Dispatcher } from 'undici';
import type { EndpointMetrics } from '../../router/scheduling/contracts.ts';
import { DEFAULT_SCRAPE_INTERVAL_MS, DEFAULT_STALE_AFTER_MS } from '../../router/scheduling/config.ts';
import { parseVllmMetrics } from './baseline-parse.ts';

export interface ScrapeTarget {
  id: string;
  /** Base URL of the replica (`http://host:port` or `http://host:port/v1`); `/metrics` is derived from it. */
  url: string;
  /** Overrides the derived metrics URL. */
  metricsUrl?: string;
  /** Only count series labelled with this `model_name` (the engine's served model name). */
  modelName?: string;
}

export interface ScrapeSnapshot {
  metrics?: EndpointMetrics;
  /** No good scrape yet, or the last one is older than staleAfterMs. */
  stale: boolean;
  lastSuccessAt?: number;
  lastError?: string;
  consecutiveFailures: number;
}

/** The slice of WHATWG fetch the scraper uses (global fetch fits). */
export type FetchLike = (
  url: string,
  init: { signal: AbortSignal },
) => Promise<{ ok: boolean; status: number; text(): Promise<string> }>;

export interface MetricsScraperOptions {
  backends: readonly ScrapeTarget[];
  intervalMs?: number;
  staleAfterMs?: number;
  /** Per-scrape timeout; defaults to staleAfterMs so a hung replica goes stale rather than piling up requests. */
  timeoutMs?: number;
  /** Use this fetch; otherwise undici's `request` with `dispatcher` (or undici's global dispatcher). */
  fetch?: FetchLike;
  dispatcher?: Dispatcher;
  clock?: () => number;
  /** Called after every scrape attempt (success or failure), e.g. to update gauges. */
  onScrape?: (backendId: string, snapshot: ScrapeSnapshot) => void;
}

export interface MetricsScraper {
  /** Scrape every backend once (awaited), then keep polling every intervalMs until stop(). */
  start(): Promise<void>;
  stop(): void;
  /** One round over every backend; resolves when all finished (failures are recorded, never thrown). */
  scrapeOnce(): Promise<void>;
  snapshot(backendId: string): ScrapeSnapshot;
  isStale(backendId: string): boolean;
  /** The last scraped metrics (stale or not), without building a snapshot: read on every scheduling call. */
  latestMetrics(backendId: string): EndpointMetrics | undefined;
  /** Replace the target list (pool registration/removal); known backends keep their state. */
  setBackends(targets: readonly ScrapeTarget[]): void;
  readonly intervalMs: number;
  readonly staleAfterMs: number;
}

interface TargetState {
  target: ScrapeTarget;
  metricsUrl: string;
  metrics?: EndpointMetrics;
  lastSuccessAt?: number;
  lastError?: string;
  consecutiveFailures: number;
  inFlight?: Promise<void>;
}

export function metricsUrlFor(target: ScrapeTarget): string {
  if (target.metricsUrl !== undefined) return target.metricsUrl;
  const base = target.url.replace(/\/+$/, '').replace(/\/v1$/, '');
  return `${base}/metrics`;
}

export function createMetricsScraper(options: MetricsScraperOptions): MetricsScraper {
  const intervalMs = options.intervalMs ?? DEFAULT_SCRAPE_INTERVAL_MS;
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const timeoutMs = options.timeoutMs ?? staleAfterMs;
  const clock = options.clock ?? Date.now;
  const states = new Map<string, TargetState>();
  let timer: NodeJS.Timeout | undefined;

  const fetchText = options.fetch
    ? async (url: string, signal: AbortSignal): Promise<string> => {
        const response = await options.fetch!(url, { signal });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return response.text();
      }
    : async (url: string, signal: AbortSignal): Promise<string> => {
        const response = await undiciRequest(url, {
          method: 'GET',
          signal,
          ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
        });
        if (response.statusCode !== 200) {
          await response.body.dump();
          throw new Error(`HTTP ${response.statusCode}`);
        }
        return response.body.text();
      };

  function setBackends(targets: readonly ScrapeTarget[]): void {
    const keep = new Set<string>();
    for (const target of targets) {
      keep.add(target.id);
      const existing = states.get(target.id);
      const metricsUrl = metricsUrlFor(target);
      if (existing && existing.metricsUrl === metricsUrl && existing.target.modelName === target.modelName) {
        existing.target = target;
      } else {
        states.set(target.id, { target, metricsUrl, consecutiveFailures: 0 });
      }
    }
    for (const id of [...states.keys()]) if (!keep.has(id)) states.delete(id);
  }

  function scrapeTarget(state: TargetState): Promise<void> {
    // Never stack scrapes of one slow replica: the one in flight stands for this round too.
    if (state.inFlight) return state.inFlight;
    const signal = AbortSignal.timeout(timeoutMs);
    const run = (async () => {
      try {
        const text = await fetchText(state.metricsUrl, signal);
        state.metrics = parseVllmMetrics(text, state.target.modelName, clock());
        state.lastSuccessAt = state.metrics.scrapedAt;
        state.consecutiveFailures = 0;
        delete state.lastError;
      } catch (error) {
        state.consecutiveFailures++;
        state.lastError = error instanceof Error ? error.message : String(error);
      } finally {
        delete state.inFlight;
      }
      if (states.get(state.target.id) === state) options.onScrape?.(state.target.id, snapshotOf(state));
    })();
    state.inFlight = run;
    return run;
  }

  function snapshotOf(state: TargetState): ScrapeSnapshot {
    const stale = state.lastSuccessAt === undefined || clock() - state.lastSuccessAt > staleAfterMs;
    return {
      ...(state.metrics ? { metrics: state.metrics } : {}),
      stale,
      ...(state.lastSuccessAt !== undefined ? { lastSuccessAt: state.lastSuccessAt } : {}),
      ...(state.lastError !== undefined ? { lastError: state.lastError } : {}),
      consecutiveFailures: state.consecutiveFailures,
    };
  }

  async function scrapeOnce(): Promise<void> {
    await Promise.all([...states.values()].map(scrapeTarget));
  }

  setBackends(options.backends);

  return {
    intervalMs,
    staleAfterMs,
    async start() {
      if (timer) return;
      timer = setInterval(() => void scrapeOnce(), intervalMs);
      timer.unref();
      await scrapeOnce();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
    scrapeOnce,
    snapshot(backendId) {
      const state = states.get(backendId);
      return state ? snapshotOf(state) : { stale: true, consecutiveFailures: 0, lastError: 'unknown backend' };
    },
    latestMetrics(backendId) {
      return states.get(backendId)?.metrics;
    },
    isStale(backendId) {
      const state = states.get(backendId);
      return !state || state.lastSuccessAt === undefined || clock() - state.lastSuccessAt > staleAfterMs;
    },
    setBackends,
  };
}
