// Opens both HTML reports in headless Chromium (Debian's /usr/bin/chromium; CI installs it with apt).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPrices } from '../../models/catalog/prices.ts';
import { computeBreakeven } from '../breakeven/compute.ts';
import { BreakevenInput } from '../breakeven/inputs.ts';
import { BenchConfig } from '../loadgen/config.ts';
import { LOAD_TEST_SHAPE, startFakeUpstream } from '../../core/testing/fake-upstream.ts';
import { type BenchResult, runBenchmark } from '../loadgen/runner.ts';
import { renderBenchReport } from './bench-report.ts';
import { CHROMIUM_PATH, chromiumAvailable, inspectReport, launchChromium } from './browser.ts';
import { renderBreakevenReport } from './breakeven-report.ts';

describe('HTML reports in headless Chromium', () => {
  let browser: Browser;
  let directory: string;
  let bench: BenchResult;

  beforeAll(async () => {
    if (!chromiumAvailable()) {
      throw new Error(`Chromium not found at ${CHROMIUM_PATH}: apt-get install -y --no-install-recommends chromium`);
    }
    directory = await mkdtemp(join(tmpdir(), 'switchyard-report-'));
    const upstream = await startFakeUpstream({ ...LOAD_TEST_SHAPE, ttftMs: 4, itlMs: 1 });
    try {
      bench = await runBenchmark(
        BenchConfig.parse({
          baseUrl: upstream.baseURL,
          model: 'fake',
          mode: { kind: 'closed', concurrency: 1 },
          sweep: [1, 3],
          workload: {
            kind: 'synthetic',
            input: { kind: 'uniform', min: 20, max: 60 },
            output: { kind: 'fixed', value: 12 },
          },
          requests: 9,
        }),
      );
    } finally {
      await upstream.close();
    }
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  it('the bench report opens with no console errors, no outside requests, and shows all its charts', async () => {
    const path = join(directory, 'bench.html');
    await writeFile(path, renderBenchReport(bench));
    const page = await inspectReport(browser, path);
    expect(page.consoleErrors).toEqual([]);
    expect(page.externalRequests).toEqual([]);
    expect(page.title).toContain('switchyard bench');
    expect(page.charts.map((chart) => chart.id).sort()).toEqual(
      ['itl-cdf', 'latency-vs-throughput-tpot', 'latency-vs-throughput-ttft', 'throughput-timeline', 'ttft-cdf'].sort(),
    );
    for (const chart of page.charts) {
      expect(chart.width).toBeGreaterThan(300);
      expect(chart.height).toBeGreaterThan(200);
      expect(chart.paths).toBeGreaterThanOrEqual(2); // one series per sweep step or per percentile
    }
  });

  it('the breakeven report opens with no console errors and shows both sensitivity charts and the seed check', async () => {
    const report = await computeBreakeven(
      BreakevenInput.parse({
        model: 'llama-3.1-8b',
        gpu: 'a100-80gb',
        throughput: { source: 'estimate', tpotMs: 50 },
        utilization: 0.8,
        requestsPerDay: 250_000,
      }),
      { prices: loadPrices(), readBench: () => Promise.reject(new Error('unused')) },
    );
    const path = join(directory, 'breakeven.html');
    await writeFile(path, renderBreakevenReport(report));
    const page = await inspectReport(browser, path);
    expect(page.consoleErrors).toEqual([]);
    expect(page.externalRequests).toEqual([]);
    expect(page.charts.map((chart) => chart.id).sort()).toEqual(['cost-vs-utilization', 'monthly-vs-requests']);
    for (const chart of page.charts) expect(chart.paths).toBeGreaterThanOrEqual(1);
    const verdicts = await (async () => {
      const tab = await browser.newPage();
      try {
        await tab.goto(`file://${path}`);
        return await tab.$$eval('td[class^="verdict-"]', (cells) => cells.map((cell) => cell.textContent ?? ''));
      } finally {
        await tab.close();
      }
    })();
    expect(verdicts).toHaveLength(report.seedCheck.length);
  });
});
