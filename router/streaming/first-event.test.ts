// The relay holds nothing back: each event leaves the router when it arrives, not when the next one does, and the
// head carries the router's own time to its first byte. A real router in front of the fake upstream, whose events
// are far apart (300 ms), so a held event would show as an arrival next to the following one on any loaded machine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from 'undici';
import { validateConfig } from '../config/load.ts';
import { startRouter, type RunningRouter } from '../server.ts';
import { startFakeUpstream, type FakeUpstream } from '../../core/testing/fake-upstream.ts';
import { HEADER_TTFB_OVERHEAD } from './relay.ts';

const ITL_MS = 300;
let upstream: FakeUpstream;
let router: RunningRouter;

beforeAll(async () => {
  upstream = await startFakeUpstream({ tokens: 3, ttftMs: ITL_MS, itlMs: ITL_MS });
  const config = validateConfig(
    {
      pools: [{ name: 'pool', kind: 'vllm', model: 'llama-3.1-8b', gpu: 'h100', backends: [{ url: upstream.url }] }],
      models: [{ name: 'llama-3.1-8b', route: ['pool'] }],
      server: { requestLog: false },
      scheduling: { staleAfterMs: 60_000 },
    },
    'first-event test',
    {},
  );
  router = await startRouter(config, { host: '127.0.0.1', port: 0, processMetrics: false });
});

afterAll(async () => {
  await router.close();
  await upstream.close();
});

describe('streamed relay', () => {
  it('sends each event as it arrives and reports its own time to first byte', async () => {
    const pool = new Pool(router.url);
    try {
      const response = await pool.request({
        path: '/v1/chat/completions',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hi' }], stream: true }),
      });
      expect(response.statusCode).toBe(200);
      const ttfb = Number(response.headers[HEADER_TTFB_OVERHEAD]);
      const overhead = Number(response.headers['x-switchyard-overhead-ms']);
      expect(Number.isFinite(ttfb)).toBe(true);
      // Read later than the overhead header, on the same clock: never less.
      expect(ttfb).toBeGreaterThanOrEqual(overhead);
      const contentArrivals: number[] = [];
      for await (const piece of response.body) {
        const text = (piece as Buffer).toString();
        for (const event of text.split('\n\n'))
          if (/"content":"[^"]/.test(event)) contentArrivals.push(performance.now());
      }
      expect(contentArrivals).toHaveLength(3);
      // Upstream sends the three content events ITL_MS apart; relayed at once, they stay (roughly) that far apart.
      expect(contentArrivals[1]! - contentArrivals[0]!).toBeGreaterThan(ITL_MS / 2);
      expect(contentArrivals[2]! - contentArrivals[1]!).toBeGreaterThan(ITL_MS / 2);
    } finally {
      await pool.close();
    }
  });
});
