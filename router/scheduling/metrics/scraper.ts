// Polls each engine replica's `/metrics` (vLLM; llama-server: `/metrics` + `/slots`) and keeps the latest EndpointMetrics per backend. A backend whose last good
// scrape is older than `staleAfterMs` (or that was never scraped) reads as stale; the not-saturated filter then drops
// it (fail closed), so a silent replica is never picked blind.
//
// Cost per backend is what limits a router in front of hundreds of replicas, so: one timer for all backends (not one
// per backend), with the backends' scrapes spread over the interval rather than fired in one burst; each scrape is an undici `dispatch` with the backend's own reusable handler object (no promise, no
// stream, no AbortSignal per scrape: the tick aborts a scrape that outlived its timeout); the body is parsed as the
// bytes arrived (parse-vllm.ts) into the backend's one EndpointMetrics object; and a replica whose page did not
// change and that the router sent nothing to is scraped less often (up to `maxIntervalMs`; its reading stays fresh
// for the longer gap), back to `intervalMs` as soon as the router sends it a request (`noteActivity`) or its page
// changes.
import { Buffer } from 'node:buffer';
import { Agent, request as undiciRequest } from 'undici';
import type { Dispatcher } from 'undici';
import type { EndpointMetrics } from '../contracts.ts';
import { DEFAULT_SCRAPE_INTERVAL_MS, DEFAULT_STALE_AFTER_MS } from '../config.ts';
import { VllmMetricsReader } from './parse-vllm.ts';
import { parseLlamaCppMetrics } from './parse-llamacpp.ts';

export interface ScrapeTarget {
  id: string;
  /** Base URL of the replica (`http://host:port` or `http://host:port/v1`); `/metrics` is derived from it. */
  url: string;
  /** Overrides the derived metrics URL. */
  metricsUrl?: string;
  /** Only count series labelled with this `model_name` (the engine's served model name). */
  modelName?: string;
  /** Which engine's metrics to read (default vllm). */
  engine?: 'vllm' | 'llamacpp';
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

/** Where the scraper's one timer comes from (real timers by default; a virtual clock in benchmarks). */
export interface ScrapeTimers {
  setTimer(delayMs: number, callback: () => void): { cancel(): void };
}

export interface MetricsScraperOptions {
  backends: readonly ScrapeTarget[];
  intervalMs?: number;
  staleAfterMs?: number;
  /**
   * Longest gap between scrapes of a replica whose page did not change and that the router sent nothing to (default
   * min(20 × intervalMs, 1 000 ms)). Its reading counts as fresh for staleAfterMs plus the extra gap, so an idle
   * replica does not go stale between two backed-off scrapes; a replica that stops answering while idle is found
   * stale at most maxIntervalMs + staleAfterMs after its last good scrape.
   */
  maxIntervalMs?: number;
  /** Per-scrape timeout; defaults to staleAfterMs so a hung replica goes stale rather than piling up requests. */
  timeoutMs?: number;
  /** Use this fetch; otherwise undici's `dispatch` on `dispatcher` (or undici's global dispatcher). */
  fetch?: FetchLike;
  dispatcher?: Dispatcher;
  clock?: () => number;
  timers?: ScrapeTimers;
  /** Called after every scrape attempt (success or failure), e.g. to update gauges. */
  onScrape?: (backendId: string, snapshot: ScrapeSnapshot) => void;
}

export interface MetricsScraper {
  /** Scrape every backend once (awaited), then keep polling until stop(). */
  start(): Promise<void>;
  stop(): void;
  /** One round over every backend; resolves when all finished (failures are recorded, never thrown). */
  scrapeOnce(): Promise<void>;
  snapshot(backendId: string): ScrapeSnapshot;
  isStale(backendId: string): boolean;
  /** The last scraped metrics (stale or not), without building a snapshot: read on every scheduling call. */
  latestMetrics(backendId: string): EndpointMetrics | undefined;
  /** The router sent this backend a request or got an answer: scrape it at the base interval again. */
  noteActivity(backendId: string): void;
  /** Replace the target list (pool registration/removal); known backends keep their state. */
  setBackends(targets: readonly ScrapeTarget[]): void;
  readonly intervalMs: number;
  readonly staleAfterMs: number;
  /** Scrape attempts finished since creation (successes and failures). */
  readonly scrapes: number;
}

function sameReadings(a: EndpointMetrics, b: EndpointMetrics): boolean {
  return (
    a.requestsRunning === b.requestsRunning &&
    a.requestsWaiting === b.requestsWaiting &&
    a.kvCacheUsage === b.kvCacheUsage &&
    a.prefixCacheQueries === b.prefixCacheQueries &&
    a.prefixCacheHits === b.prefixCacheHits
  );
}

export function metricsUrlFor(target: ScrapeTarget): string {
  if (target.metricsUrl !== undefined) return target.metricsUrl;
  const base = target.url.replace(/\/+$/, '').replace(/\/v1$/, '');
  return `${base}/metrics`;
}

const INITIAL_BODY_BYTES = 16_384;

/**
 * Body buffers lent to the scrapes in progress: a page usually arrives in one socket read and is parsed at once, so a
 * few buffers serve hundreds of backends (instead of one per backend). Grown buffers are kept; a handful at most.
 */
class BodyBuffers {
  private readonly free: Buffer[] = [];
  take(minimum: number): Buffer {
    const buffer = this.free.pop();
    if (buffer !== undefined && buffer.length >= minimum) return buffer;
    return Buffer.allocUnsafe(Math.max(minimum, INITIAL_BODY_BYTES, buffer?.length ?? 0));
  }
  give(buffer: Buffer): void {
    if (this.free.length < 8) this.free.push(buffer);
  }
}

let sharedAgent: Agent | undefined;
function scrapeAgent(): Agent {
  return (sharedAgent ??= new Agent({ keepAliveTimeout: 60_000, connections: 2 }));
}

/** One backend's scrape state; it is also the undici dispatch handler of its own scrapes (one object, reused). */
class TargetState implements Dispatcher.DispatchHandler {
  readonly reader: VllmMetricsReader;
  readonly origin: string;
  readonly path: string;
  metrics: EndpointMetrics | undefined;
  lastSuccessAt: number | undefined;
  /** Clock ms after which the last good reading is stale (staleAfterMs, plus the backed-off gap it was read at). */
  freshUntil = -1;
  lastError: string | undefined;
  consecutiveFailures = 0;
  /** Clock ms the scrape in flight started, or -1. */
  startedAt = -1;
  /** Clock ms this backend is next due. */
  dueAt = 0;
  /** Current gap between scrapes, ms (intervalMs … maxIntervalMs). */
  gapMs: number;
  active = false;
  /** The body as it arrives, in a buffer borrowed from the scraper's BodyBuffers until the response ends. */
  private body: Buffer | undefined;
  private bodyLength = 0;
  private status = 0;
  private controller: Dispatcher.DispatchController | undefined;
  private waiters: Array<() => void> | undefined;

  constructor(
    public target: ScrapeTarget,
    readonly metricsUrl: string,
    private readonly owner: ScraperCore,
  ) {
    this.reader = new VllmMetricsReader(target.modelName);
    const url = new URL(metricsUrl);
    this.origin = url.origin;
    this.path = `${url.pathname}${url.search}`;
    this.gapMs = owner.intervalMs;
  }

  get inFlight(): boolean {
    return this.startedAt >= 0;
  }

  /** Resolves when the scrape in flight (or the next one) finishes. */
  whenDone(): Promise<void> {
    return new Promise((resolve) => (this.waiters ??= []).push(resolve));
  }

  begin(now: number): void {
    this.startedAt = now;
    this.bodyLength = 0;
    this.status = 0;
  }

  abort(reason: Error): void {
    this.controller?.abort(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.status = statusCode;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.status !== 200) return;
    const needed = this.bodyLength + chunk.length;
    let body = this.body;
    if (body === undefined || needed > body.length) {
      const grown = this.owner.buffers.take(Math.max(needed, (body?.length ?? 0) * 2));
      if (body !== undefined) {
        body.copy(grown, 0, 0, this.bodyLength);
        this.owner.buffers.give(body);
      }
      this.body = body = grown;
    }
    chunk.copy(body, this.bodyLength);
    this.bodyLength = needed;
  }

  onResponseEnd(): void {
    this.controller = undefined;
    if (this.status !== 200) this.finish(`HTTP ${this.status}`);
    else if (this.body === undefined) this.finish('empty /metrics body');
    else {
      const body = this.body;
      this.body = undefined;
      this.finishBytes(body, this.bodyLength);
      this.owner.buffers.give(body);
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.controller = undefined;
    if (this.body !== undefined) this.owner.buffers.give(this.body);
    this.body = undefined;
    this.finish(error.message);
  }

  finishText(text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    this.finishBytes(bytes, bytes.length);
  }

  finishBytes(bytes: Uint8Array, length: number): void {
    const now = this.owner.clock();
    let parsed: EndpointMetrics;
    try {
      parsed = this.reader.parse(bytes, length, now, this.owner.scratch);
    } catch (caught) {
      this.finish(caught instanceof Error ? caught.message : String(caught));
      return;
    }
    this.accept(parsed, now);
  }

  /** A good reading: update the backend's one metrics object in place. */
  accept(parsed: EndpointMetrics, now: number): void {
    // The backend's one metrics object is updated in place (the registry holds it); a first scrape makes it.
    const previous = this.metrics;
    const unchanged = previous !== undefined && sameReadings(previous, parsed);
    if (previous === undefined) this.metrics = { ...parsed };
    else if (!unchanged) Object.assign(previous, parsed);
    this.metrics!.scrapedAt = now;
    this.lastSuccessAt = now;
    this.finish(undefined, unchanged);
  }

  finish(error: string | undefined, unchanged = false): void {
    if (error === undefined) {
      this.consecutiveFailures = 0;
      this.lastError = undefined;
    } else {
      this.consecutiveFailures++;
      this.lastError = error;
    }
    this.owner.settle(this, error === undefined, unchanged);
    const waiters = this.waiters;
    this.waiters = undefined;
    if (waiters) for (const resolve of waiters) resolve();
  }
}

/** The parts of the scraper a TargetState calls back into. */
interface ScraperCore {
  readonly intervalMs: number;
  readonly scratch: EndpointMetrics;
  readonly buffers: BodyBuffers;
  clock(): number;
  settle(state: TargetState, ok: boolean, unchanged: boolean): void;
}

export function createMetricsScraper(options: MetricsScraperOptions): MetricsScraper {
  const intervalMs = options.intervalMs ?? DEFAULT_SCRAPE_INTERVAL_MS;
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const maxIntervalMs = Math.max(intervalMs, options.maxIntervalMs ?? Math.min(20 * intervalMs, 1_000));
  // The timer wakes when the earliest backend is due, but not more often than this: scrapes due within one slot go
  // out together, and a pool whose backends are spread over the interval costs about 10 wake-ups per interval.
  const slotMs = Math.max(1, Math.floor(intervalMs / 10));
  const timeoutMs = options.timeoutMs ?? staleAfterMs;
  const clock = options.clock ?? Date.now;
  const timers: ScrapeTimers = options.timers ?? {
    setTimer(delayMs, callback) {
      const handle = setTimeout(callback, delayMs);
      handle.unref();
      return { cancel: () => clearTimeout(handle) };
    },
  };
  const states = new Map<string, TargetState>();
  let list: TargetState[] = [];
  let timer: { cancel(): void } | undefined;
  let running = false;
  let scrapes = 0;

  const core: ScraperCore = {
    intervalMs,
    scratch: {
      requestsRunning: 0,
      requestsWaiting: 0,
      kvCacheUsage: 0,
      prefixCacheQueries: 0,
      prefixCacheHits: 0,
      scrapedAt: 0,
    },
    buffers: new BodyBuffers(),
    clock,
    settle(state, ok, unchanged) {
      const now = clock();
      scrapes++;
      // Back off only while nothing moves: same page, no router traffic since the scrape started.
      state.gapMs = ok && unchanged && !state.active ? Math.min(maxIntervalMs, state.gapMs * 2) : intervalMs;
      // A reading taken at a backed-off gap stays fresh until the next scrape is due plus staleAfterMs; router
      // traffic (noteActivity) shortens the gap but not this, so a backend does not flicker stale on its first request.
      if (ok) state.freshUntil = now + staleAfterMs + (state.gapMs - intervalMs);
      state.active = false;
      state.dueAt = state.startedAt + state.gapMs;
      state.startedAt = -1;
      if (states.get(state.target.id) === state) options.onScrape?.(state.target.id, snapshotOf(state, now));
    },
  };

  // Its own keep-alive agent, shared by every scraper of the process, not undici's global dispatcher: that one may be
  // replaced by other code (tracing, proxies) with a dispatcher that does not take raw dispatch handlers.
  const dispatcher = options.fetch ? undefined : (options.dispatcher ?? scrapeAgent());
  const fetchText = async (url: string, signal: AbortSignal): Promise<string> => {
    if (options.fetch) {
      const response = await options.fetch(url, { signal });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return response.text();
    }
    const response = await undiciRequest(url, { method: 'GET', signal, dispatcher: dispatcher ?? scrapeAgent() });
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new Error(`HTTP ${response.statusCode}`);
    }
    return response.body.text();
  };

  // llama-server keeps per-slot context use out of /metrics: KV usage comes from /slots (see parse-llamacpp.ts). Two
  // small JSON/text pages per scrape; these pools are a few CPU replicas, so the plain promise path is fine here.
  const beginLlamaCpp = (state: TargetState): void => {
    const signal = AbortSignal.timeout(timeoutMs);
    const slotsUrl = state.metricsUrl.replace(/\/metrics$/, '/slots');
    Promise.all([
      fetchText(state.metricsUrl, signal),
      fetchText(slotsUrl, signal).catch((error: unknown) => {
        throw new Error(
          `GET ${slotsUrl}: ${error instanceof Error ? error.message : String(error)} (llama-server needs --slots)`,
        );
      }),
    ])
      .then(([text, slots]) => {
        let slotsBody: unknown;
        try {
          slotsBody = JSON.parse(slots);
        } catch {
          throw new Error(`GET ${slotsUrl}: not JSON`);
        }
        const now = clock();
        state.accept(parseLlamaCppMetrics(text, slotsBody, now), now);
      })
      .catch((error: unknown) => state.finish(error instanceof Error ? error.message : String(error)));
  };

  const begin = (state: TargetState, now: number): void => {
    state.begin(now);
    if (state.target.engine === 'llamacpp') {
      beginLlamaCpp(state);
      return;
    }
    if (dispatcher) {
      try {
        dispatcher.dispatch({ origin: state.origin, path: state.path, method: 'GET' }, state);
      } catch (error) {
        state.finish(error instanceof Error ? error.message : String(error));
      }
      return;
    }
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(new Error('scrape timed out')), timeoutMs);
    options.fetch!(state.metricsUrl, { signal: controller.signal })
      .then(async (response) => {
        if (!response.ok) return state.finish(`HTTP ${response.status}`);
        state.finishText(await response.text());
      })
      .catch((error: unknown) => state.finish(error instanceof Error ? error.message : String(error)))
      .finally(() => clearTimeout(timeout));
  };

  function tick(): void {
    timer = undefined;
    if (!running) return;
    const now = clock();
    let next = now + intervalMs;
    for (const state of list) {
      if (state.inFlight) {
        if (now - state.startedAt > timeoutMs) state.abort(new Error(`scrape timed out after ${timeoutMs} ms`));
        else if (state.startedAt + timeoutMs < next) next = state.startedAt + timeoutMs;
      } else if (now >= state.dueAt) begin(state, now);
      // A scrape that finished inside begin() (a synchronous failure) is due again in one interval at the earliest.
      if (!state.inFlight && state.dueAt < next) next = state.dueAt;
    }
    // At least every interval, so noteActivity (which does not touch the timer) takes effect within one interval.
    timer = timers.setTimer(Math.max(slotMs, next - now), tick);
  }

  /** Spreads the backends' next scrapes evenly over one interval (after a round that scraped them all at once). */
  function spreadPhases(now: number): void {
    list.forEach((state, index) => {
      if (!state.inFlight) state.dueAt = Math.max(state.dueAt, now) + Math.floor((intervalMs * index) / list.length);
    });
  }

  function setBackends(targets: readonly ScrapeTarget[]): void {
    const keep = new Set<string>();
    for (const target of targets) {
      keep.add(target.id);
      const existing = states.get(target.id);
      const metricsUrl = metricsUrlFor(target);
      if (
        existing &&
        existing.metricsUrl === metricsUrl &&
        existing.target.modelName === target.modelName &&
        existing.target.engine === target.engine
      ) {
        existing.target = target;
      } else {
        states.set(target.id, new TargetState(target, metricsUrl, core));
      }
    }
    for (const id of [...states.keys()]) if (!keep.has(id)) states.delete(id);
    list = [...states.values()];
  }

  function snapshotOf(state: TargetState, now: number): ScrapeSnapshot {
    const snapshot: ScrapeSnapshot = {
      stale: isStaleState(state, now),
      consecutiveFailures: state.consecutiveFailures,
    };
    if (state.metrics) snapshot.metrics = { ...state.metrics };
    if (state.lastSuccessAt !== undefined) snapshot.lastSuccessAt = state.lastSuccessAt;
    if (state.lastError !== undefined) snapshot.lastError = state.lastError;
    return snapshot;
  }

  function isStaleState(state: TargetState, now: number): boolean {
    return state.lastSuccessAt === undefined || now > state.freshUntil;
  }

  async function scrapeOnce(): Promise<void> {
    const now = clock();
    const done: Array<Promise<void>> = [];
    for (const state of list) {
      // Never stack scrapes of one slow replica: the one in flight stands for this round too.
      const finished = state.whenDone();
      if (!state.inFlight) begin(state, now);
      done.push(finished);
    }
    await Promise.all(done);
  }

  setBackends(options.backends);

  return {
    intervalMs,
    staleAfterMs,
    get scrapes() {
      return scrapes;
    },
    async start() {
      if (running) return;
      running = true;
      await scrapeOnce();
      spreadPhases(clock());
      if (running && !timer) timer = timers.setTimer(slotMs, tick);
    },
    stop() {
      running = false;
      timer?.cancel();
      timer = undefined;
    },
    scrapeOnce,
    snapshot(backendId) {
      const state = states.get(backendId);
      return state ? snapshotOf(state, clock()) : { stale: true, consecutiveFailures: 0, lastError: 'unknown backend' };
    },
    latestMetrics(backendId) {
      return states.get(backendId)?.metrics;
    },
    noteActivity(backendId) {
      const state = states.get(backendId);
      if (!state) return;
      state.active = true;
      if (state.gapMs !== intervalMs) {
        state.gapMs = intervalMs;
        if (!state.inFlight) state.dueAt = Math.min(state.dueAt, clock());
      }
    },
    isStale(backendId) {
      const state = states.get(backendId);
      return !state || isStaleState(state, clock());
    },
    setBackends,
  };
}
