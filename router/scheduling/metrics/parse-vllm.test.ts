import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseVllmMetrics, VllmMetricsParseError, VllmMetricsReader } from './parse-vllm.ts';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

describe('parseVllmMetrics', () => {
  it('reads the current generation (vLLM ≥ 0.10), summing data-parallel engines and averaging KV usage', () => {
    const metrics = parseVllmMetrics(fixture('vllm-current-dp2.prom'), MODEL, 123);
    expect(metrics).toEqual({
      requestsRunning: 12,
      requestsWaiting: 4,
      kvCacheUsage: (0.6125 + 0.4375) / 2,
      prefixCacheQueries: 1_048_576 + 524_288,
      prefixCacheHits: 786_432 + 262_144,
      scrapedAt: 123,
    });
  });

  it('reads the legacy generation (gpu_cache_usage_perc, gpu_prefix_cache_*)', () => {
    const metrics = parseVllmMetrics(fixture('vllm-legacy.prom'), undefined, 5);
    expect(metrics).toEqual({
      requestsRunning: 4,
      requestsWaiting: 2,
      kvCacheUsage: 0.8125,
      prefixCacheQueries: 40_960,
      prefixCacheHits: 30_720,
      scrapedAt: 5,
    });
  });

  it('prefers the newer names when a server exports both (deprecation period)', () => {
    const text = [
      'vllm:num_requests_running{engine="0",model_name="m"} 1.0',
      'vllm:num_requests_waiting{engine="0",model_name="m"} 0.0',
      'vllm:gpu_cache_usage_perc{engine="0",model_name="m"} 0.9',
      'vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.3',
      'vllm:gpu_prefix_cache_queries_total{engine="0",model_name="m"} 999.0',
      'vllm:prefix_cache_queries_total{engine="0",model_name="m"} 100.0',
      'vllm:prefix_cache_hits_total{engine="0",model_name="m"} 40.0',
      'vllm:prefix_cache_hits_created{engine="0",model_name="m"} 1.7e+09',
    ].join('\n');
    const metrics = parseVllmMetrics(text);
    expect(metrics.kvCacheUsage).toBe(0.3);
    expect(metrics.prefixCacheQueries).toBe(100);
    expect(metrics.prefixCacheHits).toBe(40);
  });

  it('accepts counters without the _total suffix, CRLF, timestamps and escaped label values', () => {
    const text = [
      'vllm:num_requests_running{model_name="a \\"quoted\\", {odd} name"} 2 1700000000000',
      'vllm:num_requests_waiting{model_name="a \\"quoted\\", {odd} name"} 3',
      'vllm:kv_cache_usage_perc{model_name="a \\"quoted\\", {odd} name"} 0.25',
      'vllm:prefix_cache_queries{model_name="a \\"quoted\\", {odd} name"} 10',
      'vllm:prefix_cache_hits{model_name="a \\"quoted\\", {odd} name"} 5',
    ].join('\r\n');
    const metrics = parseVllmMetrics(text, 'a "quoted", {odd} name');
    expect([metrics.requestsRunning, metrics.requestsWaiting, metrics.kvCacheUsage]).toEqual([2, 3, 0.25]);
    expect([metrics.prefixCacheQueries, metrics.prefixCacheHits]).toEqual([10, 5]);
  });

  it('keeps only the requested model on a multi-model server', () => {
    const text = [
      'vllm:num_requests_running{model_name="base"} 1',
      'vllm:num_requests_running{model_name="other"} 50',
      'vllm:num_requests_waiting{model_name="base"} 0',
      'vllm:num_requests_waiting{model_name="other"} 20',
      'vllm:kv_cache_usage_perc{model_name="base"} 0.1',
      'vllm:kv_cache_usage_perc{model_name="other"} 0.9',
    ].join('\n');
    expect(parseVllmMetrics(text, 'base').requestsWaiting).toBe(0);
    expect(parseVllmMetrics(text).requestsWaiting).toBe(20);
  });

  it('throws a clear error for a page that is not vLLM or names another model', () => {
    expect(() => parseVllmMetrics('# nothing here\nprocess_cpu_seconds_total 1\n')).toThrow(VllmMetricsParseError);
    expect(() => parseVllmMetrics(fixture('vllm-legacy.prom'), 'qwen')).toThrow(/model_name="qwen".*found series for/);
    expect(() => parseVllmMetrics('vllm:num_requests_running{model_name="m"} notanumber\n')).toThrow(
      /num_requests_running/,
    );
  });

  it('costs about as much as splitting the page into lines (a line scan, no per-series regex)', () => {
    // Ratio within one run, no absolute timing: splitting is a lower bound for any text-format parser.
    const page = fixture('vllm-current-dp2.prom').repeat(20);
    const time = (run: () => unknown): number => {
      const started = performance.now();
      for (let index = 0; index < 100; index++) run();
      return performance.now() - started;
    };
    time(() => parseVllmMetrics(page)); // warm up
    time(() => page.split('\n').map((line) => line.trim()));
    const parse = time(() => parseVllmMetrics(page));
    const split = time(() => page.split('\n').map((line) => line.trim()));
    expect(parse / split).toBeLessThan(8); // measured 1.6–3.3 on a loaded 2-core machine
  });

  it('reads sample values exactly as Number() does, and a reader writes into the object it is given', () => {
    const values = [
      '0',
      '7.0',
      '0.6125',
      '1.048576e+06',
      '1.7e+09',
      '-3.25',
      '12345678901234567890',
      '4.9e-324',
      '+Inf',
      '0.1',
      '3e-5',
    ];
    for (const value of values) {
      const text = `vllm:num_requests_running 1\nvllm:num_requests_waiting ${value}\nvllm:kv_cache_usage_perc 0.5\n`;
      expect(parseVllmMetrics(text).requestsWaiting).toBe(Number(value === '+Inf' ? 'Infinity' : value));
    }
    const reader = new VllmMetricsReader('meta-llama/Llama-3.1-8B-Instruct');
    const page = Buffer.from(fixture('vllm-current-dp2.prom'));
    const into = {
      requestsRunning: 0,
      requestsWaiting: 0,
      kvCacheUsage: 0,
      prefixCacheQueries: 0,
      prefixCacheHits: 0,
      scrapedAt: 0,
    };
    expect(reader.parse(page, page.length, 9, into)).toBe(into);
    expect(into).toMatchObject({ requestsRunning: 12, requestsWaiting: 4, scrapedAt: 9 });
  });
});
