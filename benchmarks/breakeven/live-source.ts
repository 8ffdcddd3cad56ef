// Where live usage comes from: a running router's `/metrics` scraped at the start and the end of a window, two scrapes
// saved as files (e.g. `curl -s router:8080/metrics > start.prom`, later `> end.prom`), or a Prometheus server that
// scrapes the router, read at the two instants (raw samples, so no increase() extrapolation).
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { parsePrometheusText, type PromSample } from '../../deploy/telemetry/prom-text.ts';
import { BenchmarkError, InvalidInputError, TargetUnavailableError } from '../loadgen/errors.ts';
import type { LiveUsageSource } from './live.ts';
import { assertUsageMetrics, usageBetween, type LivePoolUsage, type UsageOptions } from './live-usage.ts';

export type SourceOptions = Omit<UsageOptions, 'windowS'>;

export interface RouterSourceDeps {
  /** GET the metrics page; default: undici with a 10 s timeout. */
  fetchText?: (url: string) => Promise<string>;
  clock?: () => number;
  wait?: (milliseconds: number) => Promise<void>;
  /** Told when the first scrape is done and the window starts (the CLI prints it). */
  onWindowStart?: (windowS: number) => void;
}

/** `http://host:8080`, `http://host:8080/v1` or a full `…/metrics` URL → the router's metrics URL. */
export function routerMetricsUrl(router: string): string {
  let url: URL;
  try {
    url = new URL(router);
  } catch {
    throw new InvalidInputError(`--router: "${router}" is not a URL (e.g. http://127.0.0.1:8080)`);
  }
  if (url.pathname.endsWith('/metrics')) return url.toString();
  url.pathname = `${url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '')}/metrics`;
  return url.toString();
}

async function fetchMetrics(url: string): Promise<string> {
  try {
    const response = await request(url, { headersTimeout: 10_000, bodyTimeout: 10_000 });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`status ${response.statusCode}`);
    return text;
  } catch (error) {
    throw new TargetUnavailableError(
      `cannot scrape ${url} (${(error as Error).message}); is \`switchyard serve\` running there?`,
    );
  }
}

function parse(text: string, where: string): PromSample[] {
  try {
    return parsePrometheusText(text);
  } catch (error) {
    throw new InvalidInputError(`${where}: not Prometheus text (${(error as Error).message})`);
  }
}

/** Scrapes the router now and again after `windowS` seconds; the window is the measured time between the scrapes. */
export function routerMetricsSource(
  router: string,
  options: SourceOptions,
  deps: RouterSourceDeps = {},
): LiveUsageSource<LivePoolUsage> {
  const url = routerMetricsUrl(router);
  const fetchText = deps.fetchText ?? fetchMetrics;
  const clock = deps.clock ?? Date.now;
  const wait = deps.wait ?? ((milliseconds: number) => sleep(milliseconds));
  return {
    async usage(windowS) {
      if (!(windowS > 0)) throw new InvalidInputError(`--window must be > 0 s (got ${windowS})`);
      const start = parse(await fetchText(url), url);
      assertUsageMetrics(start);
      const startedAt = clock();
      deps.onWindowStart?.(windowS);
      await wait(windowS * 1000);
      const end = parse(await fetchText(url), url);
      const measured = (clock() - startedAt) / 1000;
      return {
        windowS: measured,
        description: `${url}, scraped at the start and the end of a ${measured.toFixed(1)} s window`,
        pools: usageBetween(start, end, { ...options, windowS: measured }),
      };
    },
  };
}

/** Two saved scrapes; the files carry no time, so the window is given. */
export function scrapeFilesSource(
  startPath: string,
  endPath: string,
  options: SourceOptions,
): LiveUsageSource<LivePoolUsage> {
  const read = async (path: string) => {
    try {
      return parse(await readFile(path, 'utf8'), path);
    } catch (error) {
      if (error instanceof BenchmarkError) throw error;
      throw new InvalidInputError(`cannot read metrics scrape ${path}: ${(error as Error).message}`);
    }
  };
  return {
    async usage(windowS) {
      if (!(windowS > 0)) throw new InvalidInputError(`--window must be > 0 s (got ${windowS})`);
      const [start, end] = await Promise.all([read(startPath), read(endPath)]);
      return {
        windowS,
        description: `scrapes ${startPath} → ${endPath}, ${windowS} s apart (given)`,
        pools: usageBetween(start, end, { ...options, windowS }),
      };
    },
  };
}

/** The series live mode reads, as one Prometheus selector. */
export const LIVE_SERIES_SELECTOR =
  '{__name__=~"switchyard_(pool_info|pool_tokens_total|gpu_busy_seconds_total|cost_usd_total|cache_bytes|backend_in_flight_requests)"}';

interface PromQueryResponse {
  status?: string;
  error?: string;
  data?: { resultType?: string; result?: Array<{ metric?: Record<string, string>; value?: [number, string] }> };
}

async function fetchJson(url: string): Promise<unknown> {
  try {
    const response = await request(url, { headersTimeout: 10_000, bodyTimeout: 10_000 });
    const body: unknown = await response.body.json();
    if (response.statusCode !== 200)
      throw new Error(`status ${response.statusCode}: ${JSON.stringify(body).slice(0, 200)}`);
    return body;
  } catch (error) {
    throw new TargetUnavailableError(`cannot query Prometheus at ${url} (${(error as Error).message})`);
  }
}

export interface PrometheusSourceDeps {
  fetchJson?: (url: string) => Promise<unknown>;
  /** Clock in ms; the window ends now. */
  clock?: () => number;
}

/**
 * A Prometheus server scraping the router(s): the raw samples at `now − window` and at `now` (instant queries with
 * `time=`), i.e. the two scrapes closest before those instants. Several router instances are separate series (their
 * `instance` label), so their tokens and spend add up.
 */
export function prometheusSource(
  baseUrl: string,
  options: SourceOptions,
  deps: PrometheusSourceDeps = {},
): LiveUsageSource<LivePoolUsage> {
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch {
    throw new InvalidInputError(`--prometheus: "${baseUrl}" is not a URL (e.g. http://127.0.0.1:9090)`);
  }
  const getJson = deps.fetchJson ?? fetchJson;
  const clock = deps.clock ?? Date.now;
  const at = async (seconds: number): Promise<PromSample[]> => {
    const url = new URL(`${base.pathname.replace(/\/+$/, '')}/api/v1/query`, base);
    url.searchParams.set('query', LIVE_SERIES_SELECTOR);
    url.searchParams.set('time', seconds.toFixed(3));
    const body = (await getJson(url.toString())) as PromQueryResponse;
    if (body.status !== 'success' || body.data?.resultType !== 'vector' || !Array.isArray(body.data.result)) {
      throw new TargetUnavailableError(
        `Prometheus at ${base.origin} answered ${body.error ?? JSON.stringify(body).slice(0, 200)}`,
      );
    }
    return body.data.result.map(({ metric = {}, value }) => {
      const { __name__: name = '', ...labels } = metric;
      return { name, labels, value: Number(value?.[1]) };
    });
  };
  return {
    async usage(windowS) {
      if (!(windowS > 0)) throw new InvalidInputError(`--window must be > 0 s (got ${windowS})`);
      const end = clock() / 1000;
      const [startSamples, endSamples] = await Promise.all([at(end - windowS), at(end)]);
      if (endSamples.length === 0) {
        throw new InvalidInputError(
          `Prometheus at ${base.origin} has no switchyard_* series: does it scrape the router's /metrics?`,
        );
      }
      return {
        windowS,
        description: `Prometheus ${base.origin}, samples at ${new Date((end - windowS) * 1000).toISOString()} and ${new Date(end * 1000).toISOString()}`,
        pools: usageBetween(startSamples, endSamples, { ...options, windowS }),
      };
    },
  };
}
