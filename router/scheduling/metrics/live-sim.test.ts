// parseVllmMetrics and the scraper against live simulator replicas (models/sim), in both metric-name generations:
// the scraped values must agree with the engine's own stats.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimReplica } from '../../../models/sim/index.ts';
import type { SimReplica } from '../../../models/sim/index.ts';
import { createMetricsScraper } from './scraper.ts';
import { parseVllmMetrics } from './parse-vllm.ts';

const generations = ['current', 'legacy'] as const;
const replicas = new Map<string, SimReplica>();

beforeAll(async () => {
  for (const generation of generations) {
    replicas.set(
      generation,
      await startSimReplica({ model: 'llama-3.1-8b', gpu: 'h100', speed: 50, metricsGeneration: generation }),
    );
  }
});
afterAll(async () => {
  await Promise.all([...replicas.values()].map((replica) => replica.close()));
});

async function chat(replica: SimReplica, content: string): Promise<void> {
  const response = await fetch(`${replica.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: replica.servedModelName, messages: [{ role: 'user', content }], max_tokens: 8 }),
  });
  expect(response.status).toBe(200);
  await response.json();
}

describe.each(generations)('live simulator, %s metric names', (generation) => {
  it('parses its /metrics into the same numbers as the engine reports', async () => {
    const replica = replicas.get(generation)!;
    const system = 'The same long instructions for every request. '.repeat(40);
    await chat(replica, `${system} first`);
    await chat(replica, `${system} second`);
    const text = await (await fetch(`${replica.url}/metrics`)).text();
    expect(text).toContain(generation === 'current' ? 'vllm:kv_cache_usage_perc' : 'vllm:gpu_cache_usage_perc');
    const metrics = parseVllmMetrics(text, replica.servedModelName);
    const stats = await replica.stats();
    expect(metrics.prefixCacheQueries).toBe(stats.prefixQueryTokens);
    expect(metrics.prefixCacheHits).toBe(stats.prefixHitTokens);
    expect(metrics.prefixCacheHits).toBeGreaterThan(0);
    expect(metrics.requestsRunning).toBe(0);
    expect(metrics.requestsWaiting).toBe(0);
    expect(metrics.kvCacheUsage).toBeGreaterThanOrEqual(0);
    expect(metrics.kvCacheUsage).toBeLessThanOrEqual(1);

    const scraper = createMetricsScraper({
      backends: [{ id: generation, url: `${replica.url}/v1`, modelName: replica.servedModelName }],
    });
    await scraper.scrapeOnce();
    expect(scraper.snapshot(generation)).toMatchObject({
      stale: false,
      metrics: { prefixCacheHits: stats.prefixHitTokens },
    });
  });
});
