// llama-server's /metrics + /slots → EndpointMetrics, on a page and a slot list in this version's exact format
// (series and fields as tools/server in node-llama-cpp@3.21.1's llama.cpp writes them), and the scraper's
// fail-closed path when one of the two cannot be read.
import { describe, expect, it } from 'vitest';
import { LlamaCppMetricsParseError, parseLlamaCppMetrics, readSlotUsage } from './parse-llamacpp.ts';
import { createMetricsScraper, type FetchLike } from './scraper.ts';

const PAGE = `# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed, excluding cached tokens
# TYPE llamacpp:prompt_tokens_total counter
llamacpp:prompt_tokens_total 120
# HELP llamacpp:prompt_tokens_cached_total Number of prompt tokens reused from the cache
# TYPE llamacpp:prompt_tokens_cached_total counter
llamacpp:prompt_tokens_cached_total 30
# TYPE llamacpp:tokens_predicted_total counter
llamacpp:tokens_predicted_total 800
# TYPE llamacpp:requests_processing gauge
llamacpp:requests_processing 2
# TYPE llamacpp:requests_deferred gauge
llamacpp:requests_deferred 3
# TYPE llamacpp:n_busy_slots_per_decode gauge
llamacpp:n_busy_slots_per_decode 1.5
`;

const SLOTS = [
  {
    id: 0,
    n_ctx: 512,
    speculative: false,
    is_processing: true,
    id_task: 7,
    n_prompt_tokens: 200,
    next_token: [{ n_decoded: 150 }],
  },
  {
    id: 1,
    n_ctx: 512,
    speculative: false,
    is_processing: true,
    id_task: 8,
    n_prompt_tokens: 56,
    next_token: [{ n_decoded: 20 }],
  },
  // Idle: its cached prompt is reusable, not held by a request.
  { id: 2, n_ctx: 512, speculative: false, is_processing: false, id_task: 3, n_prompt_tokens: 400 },
  { id: 3, n_ctx: 512, speculative: false, is_processing: false },
];

describe('llama-server metrics', () => {
  it('maps queue gauges, prefix-cache counters and busy slots’ context onto EndpointMetrics', () => {
    const metrics = parseLlamaCppMetrics(PAGE, SLOTS, 1_000);
    expect(metrics).toEqual({
      requestsRunning: 2,
      requestsWaiting: 3,
      kvCacheUsage: (200 + 56) / 2048,
      prefixCacheQueries: 150,
      prefixCacheHits: 30,
      scrapedAt: 1_000,
    });
  });

  it('prefers an exported KV gauge (older llama-server versions) over /slots', () => {
    const metrics = parseLlamaCppMetrics(`${PAGE}llamacpp:kv_cache_usage_ratio 0.25\n`, 'not read', 0);
    expect(metrics.kvCacheUsage).toBe(0.25);
  });

  it('caps a slot at its context and counts slots', () => {
    expect(readSlotUsage([{ n_ctx: 100, is_processing: true, n_prompt_tokens: 500 }])).toEqual({
      busyTokens: 100,
      totalContext: 100,
      slots: 1,
      busySlots: 1,
    });
  });

  it('fails on a page without the queue gauges (server started without --metrics, or not llama-server)', () => {
    expect(() => parseLlamaCppMetrics('vllm:num_requests_running 1\n', SLOTS)).toThrow(
      /requests_processing, requests_deferred.*--metrics/,
    );
    expect(() =>
      parseLlamaCppMetrics(PAGE, { error: { code: 501, message: 'This server does not support slots endpoint.' } }),
    ).toThrow(LlamaCppMetricsParseError);
  });

  it('scrapes /metrics and /slots; a backend whose /slots fails stays stale with the reason', async () => {
    const pages: Record<string, { status: number; body: string }> = {
      'http://a/metrics': { status: 200, body: PAGE },
      'http://a/slots': { status: 200, body: JSON.stringify(SLOTS) },
      'http://b/metrics': { status: 200, body: PAGE },
      'http://b/slots': {
        status: 501,
        body: '{"error":{"code":501,"message":"This server does not support slots endpoint."}}',
      },
    };
    const fetch: FetchLike = (url) => {
      const page = pages[url]!;
      return Promise.resolve({ ok: page.status === 200, status: page.status, text: () => Promise.resolve(page.body) });
    };
    const scraper = createMetricsScraper({
      backends: [
        { id: 'a', url: 'http://a/v1', engine: 'llamacpp' },
        { id: 'b', url: 'http://b', engine: 'llamacpp' },
      ],
      fetch,
      clock: () => 5,
    });
    await scraper.scrapeOnce();
    expect(scraper.snapshot('a')).toMatchObject({ stale: false, metrics: { requestsWaiting: 3, requestsRunning: 2 } });
    expect(scraper.snapshot('b')).toMatchObject({
      stale: true,
      lastError: 'GET http://b/slots: HTTP 501 (llama-server needs --slots)',
    });
  });
});
