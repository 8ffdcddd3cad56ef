import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../../../core/testing/fake-upstream.ts';
import { createMetricsScraper, metricsUrlFor, type ScrapeTimers } from './scraper.ts';
import { createScheduler } from '../scheduler.ts';
import { DEFAULT_PROFILE } from '../config.ts';
import { makeBackend, makeRequest } from '../testing.ts';

const LEGACY = readFileSync(new URL('../fixtures/vllm-legacy.prom', import.meta.url), 'utf8');

const upstreams: FakeUpstream[] = [];
afterEach(async () => {
  await Promise.all(upstreams.splice(0).map((upstream) => upstream.close()));
});

/** A real HTTP server whose /metrics page is `body` (a captured vLLM page, or anything else). */
async function fakeVllm(body: string): Promise<FakeUpstream> {
  const upstream = await startFakeUpstream({ metricsPage: { status: 200, body } });
  upstreams.push(upstream);
  return upstream;
}

/** A virtual clock and timer queue: advanceTo runs every timer due by then in time order, letting promises settle. */
function virtualTime() {
  let now = 0;
  const due: Array<{ at: number; run: () => void }> = [];
  const timers: ScrapeTimers = {
    setTimer(delayMs, run) {
      const timer = { at: now + delayMs, run };
      due.push(timer);
      due.sort((a, b) => a.at - b.at);
      return { cancel: () => void due.splice(due.indexOf(timer), 1) };
    },
  };
  const advanceTo = async (end: number): Promise<void> => {
    while (due.length > 0 && due[0]!.at <= end) {
      const timer = due.shift()!;
      now = timer.at;
      timer.run();
      await new Promise((resolve) => setImmediate(resolve));
    }
    now = end;
  };
  return { clock: () => now, timers, advanceTo };
}

describe('createMetricsScraper', () => {
  it('derives /metrics from an OpenAI base URL', () => {
    expect(metricsUrlFor({ id: 'a', url: 'http://h:8000/v1/' })).toBe('http://h:8000/metrics');
    expect(metricsUrlFor({ id: 'a', url: 'http://h:8000' })).toBe('http://h:8000/metrics');
    expect(metricsUrlFor({ id: 'a', url: 'http://h:8000', metricsUrl: 'http://h:9000/m' })).toBe('http://h:9000/m');
  });

  it('scrapes real HTTP servers, goes stale when one stops answering, and the scheduler then drops it', async () => {
    let now = 1_000;
    const healthy = await fakeVllm(LEGACY);
    const failing = await fakeVllm(
      LEGACY.replace(
        'vllm:num_requests_waiting{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 2.0',
        'vllm:num_requests_waiting{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.0',
      ),
    );
    const scraper = createMetricsScraper({
      backends: [
        { id: 'healthy', url: healthy.baseURL },
        { id: 'failing', url: failing.baseURL },
      ],
      intervalMs: 50,
      staleAfterMs: 500,
      clock: () => now,
    });
    await scraper.scrapeOnce();
    expect(scraper.snapshot('healthy')).toMatchObject({
      stale: false,
      metrics: { requestsWaiting: 2, kvCacheUsage: 0.8125 },
    });
    expect(scraper.snapshot('failing')).toMatchObject({ stale: false, metrics: { requestsWaiting: 0 } });

    failing.settings.metricsPage = { status: 500, body: LEGACY };
    now += 200;
    await scraper.scrapeOnce();
    // Still within staleAfterMs of the last good scrape: last metrics kept, error recorded.
    expect(scraper.snapshot('failing')).toMatchObject({ stale: false, consecutiveFailures: 1, lastError: 'HTTP 500' });
    now += 400;
    await scraper.scrapeOnce();
    expect(scraper.isStale('failing')).toBe(true);
    expect(scraper.isStale('healthy')).toBe(false);

    // The core's view: failing looks idler (waiting 0) but is stale, so it must not be picked.
    const states = ['healthy', 'failing'].map((id) => {
      const snapshot = scraper.snapshot(id);
      return makeBackend(id, { metrics: snapshot.metrics!, metricsStale: snapshot.stale });
    });
    const result = createScheduler(DEFAULT_PROFILE).schedule(makeRequest(), states);
    expect(result.picked?.backend.id).toBe('healthy');
    expect(result.droppedBy).toEqual({ failing: 'not-saturated' });
  });

  it('treats a never-scraped, unreachable or non-vLLM backend as stale', async () => {
    const notVllm = await fakeVllm('process_cpu_seconds_total 3\n');
    const closed = await fakeVllm(LEGACY);
    const closedUrl = closed.baseURL;
    await closed.close();
    const scraper = createMetricsScraper({
      backends: [
        { id: 'not-vllm', url: notVllm.baseURL },
        { id: 'closed', url: closedUrl },
      ],
      staleAfterMs: 200,
      timeoutMs: 1_000,
    });
    expect(scraper.isStale('not-vllm')).toBe(true);
    await scraper.scrapeOnce();
    expect(scraper.snapshot('not-vllm')).toMatchObject({ stale: true, consecutiveFailures: 1 });
    expect(scraper.snapshot('not-vllm').lastError).toMatch(/missing/);
    expect(scraper.snapshot('closed')).toMatchObject({ stale: true, consecutiveFailures: 1 });
    expect(scraper.snapshot('unknown')).toMatchObject({ stale: true });
  });

  it('polls on its interval after start() and stops on stop()', async () => {
    const replica = await fakeVllm(LEGACY);
    const scraper = createMetricsScraper({
      backends: [{ id: 'r', url: replica.baseURL }],
      intervalMs: 10,
      staleAfterMs: 1_000,
    });
    await scraper.start();
    expect(scraper.isStale('r')).toBe(false);
    const deadline = Date.now() + 5_000;
    while (replica.metricsScrapes() < 4 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    scraper.stop();
    expect(replica.metricsScrapes()).toBeGreaterThanOrEqual(4);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const afterStop = replica.metricsScrapes();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(replica.metricsScrapes()).toBe(afterStop);
  });

  it('uses an injected fetch and keeps state across setBackends', async () => {
    const calls: string[] = [];
    const scraper = createMetricsScraper({
      backends: [{ id: 'a', url: 'http://replica-a:8000' }],
      fetch: async (url) => {
        calls.push(url);
        return { ok: true, status: 200, text: async () => LEGACY };
      },
    });
    await scraper.scrapeOnce();
    scraper.setBackends([
      { id: 'a', url: 'http://replica-a:8000' },
      { id: 'b', url: 'http://replica-b:8000/v1' },
    ]);
    expect(scraper.isStale('a')).toBe(false);
    expect(scraper.isStale('b')).toBe(true);
    await scraper.scrapeOnce();
    expect(calls).toEqual([
      'http://replica-a:8000/metrics',
      'http://replica-a:8000/metrics',
      'http://replica-b:8000/metrics',
    ]);
    scraper.setBackends([{ id: 'b', url: 'http://replica-b:8000/v1' }]);
    expect(scraper.snapshot('a').lastError).toBe('unknown backend');
  });

  it('scrapes an unchanging idle replica less often, and at the base interval again once the router sends it work', async () => {
    const { clock, timers, advanceTo } = virtualTime();
    let page = LEGACY;
    const fetchedAt: number[] = [];
    const scraper = createMetricsScraper({
      backends: [{ id: 'r', url: 'http://replica:8000' }],
      intervalMs: 50,
      staleAfterMs: 500,
      clock,
      timers,
      fetch: async () => {
        fetchedAt.push(clock());
        return { ok: true, status: 200, text: async () => page };
      },
    });
    await scraper.start();
    await advanceTo(2_000);
    const gaps = fetchedAt.slice(1).map((at, index) => at - fetchedAt[index]!);
    expect(gaps).toEqual([50, 100, 200, 400, 800]); // doubling while the page stays the same, up to 1 s
    expect(scraper.isStale('r')).toBe(false); // 450 ms since the last scrape, more than staleAfterMs: fresh for the gap
    scraper.noteActivity('r');
    const before = fetchedAt.length;
    await advanceTo(2_300);
    expect(fetchedAt[before]! - 2_000).toBeLessThanOrEqual(50); // next tick, not after the backed-off gap
    expect(fetchedAt[before + 1]! - fetchedAt[before]!).toBe(50); // one base interval, then backing off again
    page = LEGACY.replace(
      'vllm:num_requests_running{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 4.0',
      'vllm:num_requests_running{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 9.0',
    );
    await advanceTo(3_000);
    expect(scraper.latestMetrics('r')?.requestsRunning).toBe(9);
    scraper.stop();
  });

  it('spreads the backends over the interval, and a backed-off replica that stops answering still goes stale', async () => {
    const { clock, timers, advanceTo } = virtualTime();
    const fetches: Array<{ url: string; at: number }> = [];
    let silent = false;
    const scraper = createMetricsScraper({
      backends: Array.from({ length: 10 }, (_, index) => ({ id: `r${index}`, url: `http://replica-${index}:8000` })),
      intervalMs: 50,
      staleAfterMs: 500,
      clock,
      timers,
      fetch: async (url) => {
        fetches.push({ url, at: clock() });
        if (silent && url.includes('replica-3')) throw new Error('connection refused');
        return { ok: true, status: 200, text: async () => LEGACY };
      },
    });
    await scraper.start();
    await advanceTo(99);
    // After the first round (all at t=0), the second is spread over one interval, not fired in one burst.
    const second = fetches.filter((fetch) => fetch.at > 0).map((fetch) => fetch.at);
    expect(second).toHaveLength(10);
    expect(new Set(second).size).toBeGreaterThanOrEqual(5);
    expect(Math.max(...second) - Math.min(...second)).toBeGreaterThanOrEqual(25);
    await advanceTo(5_000); // every replica backed off to the 1 s maximum
    const lastGood = Math.max(...fetches.filter((fetch) => fetch.url.includes('replica-3')).map((fetch) => fetch.at));
    silent = true;
    await advanceTo(lastGood + 1_000 + 500 + 50);
    expect(scraper.isStale('r3')).toBe(true);
    expect(scraper.snapshot('r3').lastError).toBe('connection refused');
    expect(scraper.isStale('r4')).toBe(false);
    scraper.stop();
  });
});
