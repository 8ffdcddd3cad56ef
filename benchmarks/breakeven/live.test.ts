// Live mode on two hand-written scrapes (fixtures/live-{start,end}.prom, made up for these tests) with results
// computed by hand in the comments; the sources with injected I/O; bad inputs.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../../deploy/telemetry/prom-text.ts';
import { GPUS } from '../../models/catalog/gpus.ts';
import { MODELS } from '../../models/catalog/models.ts';
import { loadPrices } from '../../models/catalog/prices.ts';
import { estimateCapacity } from './estimate.ts';
import { runLiveBreakeven } from './live-cli.ts';
import { formatLiveReport, liveReport, parseWindow } from './live-report.ts';
import {
  LIVE_SERIES_SELECTOR,
  prometheusSource,
  routerMetricsSource,
  routerMetricsUrl,
  scrapeFilesSource,
} from './live-source.ts';
import { usageBetween, type UsageOptions } from './live-usage.ts';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;
const prices = loadPrices();
const api = { name: 'gpt-4o-mini', input: 0.15, output: 0.6, source: 'test' };
const options: UsageOptions = {
  windowS: 3600,
  prices,
  gpuHourly: 2,
  profile: { inputTokens: 512, outputTokens: 256 },
  slo: { tpotMs: 50 },
};
let start: string;
let end: string;
let directory: string;

beforeAll(async () => {
  [start, end] = await Promise.all([
    readFile(fixture('live-start.prom'), 'utf8'),
    readFile(fixture('live-end.prom'), 'utf8'),
  ]);
  directory = await mkdtemp(join(tmpdir(), 'switchyard-live-'));
});
afterAll(() => rm(directory, { recursive: true, force: true }));

describe('usageBetween (hand-written snapshots)', () => {
  it('derives tokens, paid and busy GPU-seconds and hosted spend per pool', () => {
    const pools = usageBetween(parsePrometheusText(start), parsePrometheusText(end), options);
    const gpu = pools.find((pool) => pool.pool === 'gpu');
    const hosted = pools.find((pool) => pool.pool === 'hosted');
    // 2 replicas × 2 GPUs × 3600 s paid; busy (1800 + 3600) s × 2 GPUs.
    expect(gpu).toMatchObject({
      kind: 'vllm',
      gpu: 'a100-80gb',
      gpusPerReplica: 2,
      replicas: 2,
      promptTokens: 3e6,
      completionTokens: 1.5e6,
    });
    expect(gpu).toMatchObject({
      gpuSeconds: 14_400,
      busyGpuSeconds: 10_800,
      gpuHourly: 2,
      hostedSpend: 0,
      utilizationSource: 'busy-time',
    });
    // Hosted: +1.00 (team a) + 0 (team b) + 0.50 (team c, absent at the start); the self-hosted cost series is not spend.
    expect(hosted).toMatchObject({
      kind: 'openai',
      gpuSeconds: 0,
      promptTokens: 1e6,
      completionTokens: 5e5,
      utilizationSource: 'none',
    });
    expect(hosted?.hostedSpend).toBeCloseTo(1.5, 12);
  });

  it('reports realized utilization, $/1M and the API equivalent', () => {
    const report = liveReport(
      {
        windowS: 3600,
        description: 'fixtures',
        pools: usageBetween(parsePrometheusText(start), parsePrometheusText(end), options),
      },
      api,
    );
    const gpu = report.pools.find((pool) => pool.pool === 'gpu');
    const hosted = report.pools.find((pool) => pool.pool === 'hosted');
    expect(gpu?.utilization).toBe(0.75); // 10,800 / 14,400
    expect(gpu?.selfHostedSpend).toBe(8); // 4 GPU-hours × $2
    expect(gpu?.costPerMillionTokens).toBeCloseTo(8 / 4.5, 12); // $8 / 4.5M tokens
    expect(gpu?.apiEquivalentSpend).toBeCloseTo(1.35, 12); // 3M × 0.15 + 1.5M × 0.60, per 1M
    expect(gpu?.apiCostPerMillionTokens).toBeCloseTo(0.3, 12); // 1.35 / 4.5M
    expect(hosted?.selfHostedSpend).toBeCloseTo(1.5, 12);
    expect(hosted?.costPerMillionTokens).toBeCloseTo(1, 12); // 1.5 / 1.5M
    expect(hosted?.apiEquivalentSpend).toBeCloseTo(0.45, 12); // 1M × 0.15 + 0.5M × 0.60
    expect(report.totals.spend).toBeCloseTo(9.5, 12);
    expect(report.totals.apiEquivalentSpend).toBeCloseTo(1.8, 12);
    expect(report.totals.monthlySpend).toBeCloseTo(9.5 * 730, 6); // a 1 h window, 730 h per month
    const text = formatLiveReport(report);
    expect(text).toMatch(/gpu\s+vllm\s+2×2 a100-80gb\s+3000000\s+1500000\s+75\.0%\s+\$8\.00\s+\$1\.78/);
    expect(text).toContain('utilization     = busy GPU-s ÷ paid GPU-s');
  });

  it('uses the catalog GPU price, averages replica counts and treats a counter that went down as reset', () => {
    const grown = end.replace(
      'switchyard_backend_in_flight_requests{backend="gpu-1",pool="gpu"} 0',
      'switchyard_backend_in_flight_requests{backend="gpu-1",pool="gpu"} 0\nswitchyard_backend_in_flight_requests{backend="gpu-2",pool="gpu"} 0',
    );
    // Router restarted: the prompt counter restarted from 0 and reads 250,000 at the end.
    const reset = grown.replace(
      'switchyard_pool_tokens_total{pool="gpu",kind="prompt"} 4000000',
      'switchyard_pool_tokens_total{pool="gpu",kind="prompt"} 250000',
    );
    const { gpuHourly: _unused, ...catalogPriced } = options;
    const [gpu] = usageBetween(parsePrometheusText(start), parsePrometheusText(reset), catalogPriced);
    expect(gpu?.replicas).toBe(2.5); // 2 at the start, 3 at the end
    expect(gpu?.gpuSeconds).toBe(2.5 * 2 * 3600);
    expect(gpu?.gpuHourly).toBe(prices.gpus['a100-80gb']?.hourly);
    expect(gpu?.promptTokens).toBe(250_000);
  });

  it('falls back to tokens ÷ estimated capacity when the router has no busy-time counter', () => {
    const noBusy = (text: string) =>
      text
        .split('\n')
        .filter((line) => !line.startsWith('switchyard_gpu_busy_seconds_total'))
        .join('\n');
    const [gpu] = usageBetween(parsePrometheusText(noBusy(start)), parsePrometheusText(noBusy(end)), options);
    const capacity = estimateCapacity({
      model: MODELS['llama-3.1-8b'],
      gpu: GPUS['a100-80gb'],
      tensorParallel: 2,
      profile: options.profile,
      slo: options.slo,
    });
    expect(gpu?.utilizationSource).toBe('capacity-estimate');
    expect(gpu?.busyGpuSeconds).toBeCloseTo(Math.min(14_400, (4.5e6 / capacity.totalTokensPerS) * 2), 9);
  });

  it('explains what is missing instead of reporting zeros', () => {
    const withoutGovernance = start
      .split('\n')
      .filter((line) => /^(#|switchyard_pool_info|switchyard_backend_in_flight)/.test(line))
      .join('\n');
    expect(() =>
      usageBetween(parsePrometheusText(withoutGovernance), parsePrometheusText(withoutGovernance), options),
    ).toThrow(/governance: \{enabled: true\}/);
    expect(() => usageBetween(parsePrometheusText('up 1'), parsePrometheusText('up 1'), options)).toThrow(
      /no switchyard_pool_info/,
    );
    expect(() => usageBetween([], [], { ...options, windowS: 0 })).toThrow(/window must be > 0/);
    const unknownGpu = start.replaceAll('gpu="a100-80gb"', 'gpu="tpu-v5"');
    const { gpuHourly: _unused, ...catalogPriced } = options;
    expect(() => usageBetween(parsePrometheusText(unknownGpu), parsePrometheusText(unknownGpu), catalogPriced)).toThrow(
      /"tpu-v5" is not in the catalog; give --gpu-hourly/,
    );
  });
});

describe('live sources', () => {
  it('scrapes the router at the start and the end and uses the measured window', async () => {
    const pages = [start, end];
    const fetched: string[] = [];
    let now = 1_000;
    const source = routerMetricsSource('http://127.0.0.1:8080/v1', options, {
      fetchText: (url) => {
        fetched.push(url);
        return Promise.resolve(pages.shift() ?? '');
      },
      clock: () => now,
      wait: (milliseconds) => {
        now += milliseconds + 400; // the timer fired late
        return Promise.resolve();
      },
    });
    const window = await source.usage(3600);
    expect(fetched).toEqual(['http://127.0.0.1:8080/metrics', 'http://127.0.0.1:8080/metrics']);
    expect(window.windowS).toBeCloseTo(3600.4, 9);
    expect(window.pools.find((pool) => pool.pool === 'gpu')?.gpuSeconds).toBeCloseTo(2 * 2 * 3600.4, 6);
  });

  it('fails on the first scrape, without waiting out the window, when the router has no usage counters', async () => {
    let waited = false;
    const source = routerMetricsSource('http://127.0.0.1:8080', options, {
      fetchText: () =>
        Promise.resolve('switchyard_pool_info{pool="gpu",kind="vllm",model="llama-3.1-8b",gpu="h100",gpus="1"} 1\n'),
      wait: () => {
        waited = true;
        return Promise.resolve();
      },
    });
    await expect(source.usage(3600)).rejects.toThrow(/governance/);
    expect(waited).toBe(false);
  });

  it('reads two saved scrapes with a given window', async () => {
    const window = await scrapeFilesSource(fixture('live-start.prom'), fixture('live-end.prom'), options).usage(3600);
    expect(window.pools.map((pool) => pool.promptTokens)).toEqual([3e6, 1e6]);
    await expect(scrapeFilesSource('/nonexistent/a.prom', fixture('live-end.prom'), options).usage(60)).rejects.toThrow(
      /cannot read metrics scrape \/nonexistent\/a\.prom/,
    );
  });

  it('the CLI path writes the JSON report and needs --window for saved scrapes', async () => {
    const flags = {
      router: 'http://127.0.0.1:9',
      scrapes: [fixture('live-start.prom'), fixture('live-end.prom')],
      apiModel: 'gpt-4o-mini',
      tpotSlo: '50',
      gpuHourly: '2',
      out: directory,
    };
    const result = await runLiveBreakeven({ ...flags, window: '1h' }, prices);
    expect(JSON.parse(await readFile(result.path, 'utf8'))).toMatchObject({ windowS: 3600, totals: { spend: 9.5 } });
    expect(result.text).toContain('per month at this rate');
    await expect(runLiveBreakeven(flags, prices)).rejects.toThrow(/--scrapes needs --window/);
    await expect(runLiveBreakeven({ ...flags, window: '1h', apiModel: 'gpt-7' }, prices)).rejects.toThrow(
      /unknown API model "gpt-7"/,
    );
  });

  it('Prometheus: queries the two instants of the window and reports what it could not use', async () => {
    const asked: URL[] = [];
    const vector = (text: string) =>
      parsePrometheusText(text).map((sample) => ({
        metric: { __name__: sample.name, instance: 'router:8080', ...sample.labels },
        value: [0, String(sample.value)],
      }));
    const source = prometheusSource('http://prom:9090', options, {
      clock: () => 7_200_000,
      fetchJson: (url) => {
        const parsed = new URL(url);
        asked.push(parsed);
        return Promise.resolve({
          status: 'success',
          data: { resultType: 'vector', result: vector(parsed.searchParams.get('time') === '3600.000' ? start : end) },
        });
      },
    });
    const window = await source.usage(3600);
    expect(asked.map((url) => [url.pathname, url.searchParams.get('time')])).toEqual([
      ['/api/v1/query', '3600.000'],
      ['/api/v1/query', '7200.000'],
    ]);
    expect(asked[0]?.searchParams.get('query')).toBe(LIVE_SERIES_SELECTOR);
    expect(window.pools.find((pool) => pool.pool === 'gpu')).toMatchObject({
      promptTokens: 3e6,
      busyGpuSeconds: 10_800,
      replicas: 2,
    });
    const failing = prometheusSource('http://prom:9090', options, {
      fetchJson: () => Promise.resolve({ status: 'error', error: 'bad_data: parse error' }),
    });
    await expect(failing.usage(60)).rejects.toThrow(/answered bad_data: parse error/);
    const empty = prometheusSource('http://prom:9090', options, {
      fetchJson: () => Promise.resolve({ status: 'success', data: { resultType: 'vector', result: [] } }),
    });
    await expect(empty.usage(60)).rejects.toThrow(/no switchyard_\* series: does it scrape/);
    expect(() => prometheusSource('prom', options)).toThrow(/--prometheus: "prom" is not a URL/);
  });

  it('parses windows and router URLs', () => {
    expect([
      parseWindow('60s'),
      parseWindow('5m'),
      parseWindow('1.5h'),
      parseWindow('90'),
      parseWindow('500ms'),
    ]).toEqual([60, 300, 5400, 90, 0.5]);
    expect(() => parseWindow('-3s')).toThrow(/not a duration/);
    expect(() => parseWindow('0')).toThrow(/not a duration/);
    expect(routerMetricsUrl('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080/metrics');
    expect(routerMetricsUrl('http://h:1/metrics')).toBe('http://h:1/metrics');
    expect(() => routerMetricsUrl('nope')).toThrow(/not a URL/);
  });
});
