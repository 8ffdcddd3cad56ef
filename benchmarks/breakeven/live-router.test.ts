// End to end: a real router (simulator pools at 50× speed, governance's cost meter on) serves a few requests sent with
// the openai SDK; live mode reads its /metrics before and after them — directly, and through a real Prometheus server
// scraping it — and the report's token counts equal the usage the SDK saw, pool by pool.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, requireBinary, stopChild, waitForOutput } from '../../router/governance/testing/binaries.ts';
import { loadPrices } from '../../models/catalog/prices.ts';
import { FAST_SCHEDULING, startTestRouter, type TestRouter } from '../../router/testing/harness.ts';
import { liveReport } from './live-report.ts';
import { prometheusSource, routerMetricsSource } from './live-source.ts';

const SPEED = 50;
let harness: TestRouter;

beforeAll(async () => {
  harness = await startTestRouter({
    pools: [
      {
        name: 'llama-8b-a10g',
        kind: 'vllm',
        model: 'llama-3.1-8b',
        gpu: 'a10g',
        tensorParallel: 1,
        driver: { type: 'simulator', replicas: 2, speed: SPEED },
      },
      {
        name: 'hosted-sim',
        kind: 'openai',
        modelMap: { mini: 'gpt-4o-mini' },
        costPer1MTokens: 0.375,
        driver: { type: 'simulator', speed: SPEED },
      },
    ],
    models: [
      { name: 'llama-3.1-8b', route: ['llama-8b-a10g'], sloTtftMs: 5_000 },
      { name: 'mini', route: ['hosted-sim'] },
    ],
    scheduling: FAST_SCHEDULING,
    governance: { enabled: true, keys: { enabled: false, database: ':memory:' }, logging: { level: 'silent' } },
  });
}, 30_000);
afterAll(() => harness?.close());

interface Seen {
  pool: string;
  prompt: number;
  completion: number;
}

async function sendRequests(): Promise<Seen[]> {
  const { client } = harness;
  const poolOf = (backend: string | null) => (backend ?? '').replace(/-\d+$/, '');
  const plain = (model: string, maxTokens: number) =>
    client.chat.completions
      .create({
        model,
        messages: [{ role: 'user', content: `say ${maxTokens} things about pools` }],
        max_tokens: maxTokens,
      })
      .withResponse()
      .then(({ data, response }) => ({
        pool: poolOf(response.headers.get('x-switchyard-backend')),
        prompt: data.usage?.prompt_tokens ?? -1,
        completion: data.usage?.completion_tokens ?? -1,
      }));
  const streamed = async (model: string, maxTokens: number): Promise<Seen> => {
    const { data: stream, response } = await client.chat.completions
      .create({
        model,
        messages: [{ role: 'user', content: 'stream a short answer' }],
        max_tokens: maxTokens,
        stream: true,
        stream_options: { include_usage: true },
      })
      .withResponse();
    let seen = { prompt: -1, completion: -1 };
    for await (const chunk of stream)
      if (chunk.usage) seen = { prompt: chunk.usage.prompt_tokens, completion: chunk.usage.completion_tokens };
    return { pool: poolOf(response.headers.get('x-switchyard-backend')), ...seen };
  };
  return Promise.all([
    plain('llama-3.1-8b', 12),
    plain('llama-3.1-8b', 30),
    streamed('llama-3.1-8b', 20),
    plain('mini', 16),
    streamed('mini', 8),
  ]);
}

const tokensOf = (requests: readonly Seen[]) =>
  requests.reduce((sum, request) => sum + request.prompt + request.completion, 0);

async function routerTokenTotal(): Promise<number> {
  const text = await (await fetch(`${harness.router.url}/metrics`)).text();
  return [...text.matchAll(/^switchyard_pool_tokens_total\{[^}]*\} (\d+)/gm)].reduce(
    (sum, match) => sum + Number(match[1]),
    0,
  );
}

/** Governance settles a request just after its response ends: wait (bounded) until the counters include all of them. */
async function settled(expectedTotal: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if ((await routerTokenTotal()) >= expectedTotal) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function expectTokensMatch(report: ReturnType<typeof liveReport>, seen: readonly Seen[]): void {
  expect(seen.every((request) => request.prompt > 0 && request.completion > 0)).toBe(true);
  for (const poolName of ['llama-8b-a10g', 'hosted-sim']) {
    const mine = seen.filter((request) => request.pool === poolName);
    expect(mine.length).toBeGreaterThan(0);
    const pool = report.pools.find((entry) => entry.pool === poolName);
    expect(pool?.promptTokens).toBe(mine.reduce((sum, request) => sum + request.prompt, 0));
    expect(pool?.completionTokens).toBe(mine.reduce((sum, request) => sum + request.completion, 0));
  }
  expect(report.totals.promptTokens + report.totals.completionTokens).toBe(tokensOf(seen));
}

const prices = loadPrices();
const usageOptions = { prices, profile: { inputTokens: 512, outputTokens: 256 }, slo: { tpotMs: 50 } };
const api = { name: 'gpt-4o-mini', ...prices.hosted['gpt-4o-mini']!, source: 'prices.yaml' };

describe('switchyard breakeven --live against a running router', () => {
  it('reports per-pool tokens equal to the usage the SDK saw, paid GPU time and hosted spend', async () => {
    let seen: Seen[] = [];
    const before = await routerTokenTotal();
    const source = routerMetricsSource(harness.router.url, usageOptions, {
      // The "window" is the time the requests take.
      wait: async () => {
        seen = await sendRequests();
        await settled(before + tokensOf(seen));
      },
    });
    const report = liveReport(await source.usage(1), api);
    expectTokensMatch(report, seen);
    const gpu = report.pools.find((pool) => pool.pool === 'llama-8b-a10g');
    const hosted = report.pools.find((pool) => pool.pool === 'hosted-sim');
    // 2 replicas × 1 A10G paid for the whole (measured) window; busy for part of it.
    expect(gpu).toMatchObject({
      kind: 'vllm',
      gpu: 'a10g',
      replicas: 2,
      gpusPerReplica: 1,
      utilizationSource: 'busy-time',
    });
    expect(gpu?.gpuSeconds).toBeCloseTo(2 * report.windowS, 9);
    expect(gpu?.utilization).toBeGreaterThan(0);
    expect(gpu?.utilization).toBeLessThanOrEqual(1);
    expect(gpu?.selfHostedSpend).toBeCloseTo((2 * report.windowS * prices.gpus.a10g!.hourly) / 3600, 12);
    // The hosted pool is priced by the router at gpt-4o-mini's catalog price: its spend is the API equivalent.
    expect(hosted?.gpuSeconds).toBe(0);
    expect(hosted?.hostedSpend).toBeGreaterThan(0);
    expect(hosted?.hostedSpend).toBeCloseTo(hosted?.apiEquivalentSpend ?? -1, 8);
  }, 30_000);

  describe('through a real Prometheus scraping the router', () => {
    let prometheus: ChildProcess | undefined;
    let dir = '';
    afterAll(async () => {
      if (prometheus) await stopChild(prometheus);
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('reads the samples at the window start and end: same per-pool tokens as the SDK saw', async () => {
      const binary = requireBinary('prometheus');
      dir = mkdtempSync(join(tmpdir(), 'switchyard-live-prom-'));
      const target = new URL(harness.router.url).host;
      writeFileSync(
        join(dir, 'prometheus.yml'),
        `global: { scrape_interval: 500ms }\nscrape_configs:\n  - job_name: router\n    static_configs: [{ targets: ["${target}"] }]\n`,
      );
      const port = await freePort();
      const promUrl = `http://127.0.0.1:${port}`;
      prometheus = spawn(
        binary,
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      if (!(await waitForOutput(prometheus, /Server is ready to receive web requests/, 20_000)))
        throw new Error('prometheus did not start');
      /** Sum of the pool token counters in Prometheus' latest sample (−1 before the first scrape). */
      const promTokens = async (): Promise<number> => {
        const body = (await (
          await fetch(
            `${promUrl}/api/v1/query?query=${encodeURIComponent('sum(switchyard_pool_tokens_total) or vector(0) * count(switchyard_pool_info)')}`,
          )
        ).json()) as {
          data: { result: Array<{ value: [number, string] }> };
        };
        const value = body.data.result[0]?.value[1];
        return value === undefined ? -1 : Number(value);
      };
      const waitFor = async (condition: () => Promise<boolean>) => {
        for (let attempt = 0; attempt < 100 && !(await condition()); attempt++)
          await new Promise((resolve) => setTimeout(resolve, 100));
      };
      const before = await routerTokenTotal();
      await waitFor(async () => (await promTokens()) === before);
      expect(await promTokens()).toBe(before);
      const windowStart = Date.now();
      const seen = await sendRequests();
      await settled(before + tokensOf(seen));
      await waitFor(async () => (await promTokens()) === before + tokensOf(seen));
      const window = await prometheusSource(promUrl, usageOptions).usage((Date.now() - windowStart) / 1000);
      expectTokensMatch(liveReport(window, api), seen);
      expect(window.description).toContain(`Prometheus ${promUrl}`);
    }, 60_000);
  });
});
