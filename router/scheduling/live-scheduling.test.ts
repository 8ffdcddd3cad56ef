// The scheduler fed only by scraped metrics of live simulator replicas (no router-side counters): a replica busy
// with long generations loses to an idle one, and a replica that stops answering /metrics drops out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimReplica } from '../../models/sim/index.ts';
import type { SimReplica } from '../../models/sim/index.ts';
import { createMetricsScraper } from './metrics/scraper.ts';
import { createScheduler } from './scheduler.ts';
import { DEFAULT_PROFILE } from './config.ts';
import { makeBackend, makeRequest } from './testing.ts';

let busy: SimReplica;
let idle: SimReplica;
const aborts = new AbortController();

beforeAll(async () => {
  // A tiny KV cache makes a handful of long requests queue up, so the busy replica shows waiting requests too.
  [busy, idle] = await Promise.all([
    startSimReplica({ model: 'llama-3.1-8b', gpu: 'h100', speed: 1, kvBlocks: 64 }),
    startSimReplica({ model: 'llama-3.1-8b', gpu: 'h100', speed: 1, kvBlocks: 64, metricsGeneration: 'legacy' }),
  ]);
});
afterAll(async () => {
  aborts.abort();
  await Promise.all([busy.close(), idle.close()]);
});

describe('scheduling from live scraped metrics', () => {
  it('prefers the idle replica and fails closed on the one that went silent', async () => {
    for (let index = 0; index < 6; index++) {
      void fetch(`${busy.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'llama-3.1-8b',
          messages: [{ role: 'user', content: `long story ${index}` }],
          max_tokens: 300,
          ignore_eos: true,
        }),
        signal: aborts.signal,
      }).catch(() => {});
    }
    let now = 0;
    const scraper = createMetricsScraper({
      backends: [
        { id: 'busy', url: `${busy.url}/v1`, modelName: 'llama-3.1-8b' },
        { id: 'idle', url: `${idle.url}/v1`, modelName: 'llama-3.1-8b' },
      ],
      staleAfterMs: 1_000,
      clock: () => now,
    });
    const deadline = Date.now() + 10_000;
    do {
      await scraper.scrapeOnce();
    } while ((scraper.snapshot('busy').metrics?.requestsRunning ?? 0) === 0 && Date.now() < deadline);
    const states = () =>
      ['busy', 'idle'].map((id) => {
        const snapshot = scraper.snapshot(id);
        return makeBackend(id, { metrics: snapshot.metrics, metricsStale: snapshot.stale });
      });
    expect(scraper.snapshot('busy').metrics!.requestsRunning).toBeGreaterThan(0);
    const scheduler = createScheduler(DEFAULT_PROFILE);
    expect(scheduler.schedule(makeRequest(), states()).picked?.backend.id).toBe('idle');

    // The idle replica goes away: its last scrape ages past staleAfterMs, and only the busy one is left.
    await idle.close();
    now += 1_500;
    await scraper.scrapeOnce();
    const result = scheduler.schedule(makeRequest(), states());
    expect(result.droppedBy).toEqual({ idle: 'not-saturated' });
    expect(result.picked?.backend.id).toBe('busy');
  });
});
