// Real tools: promtool validates the alert rules; headless Chromium loads /dashboard and sees live numbers update.
// (A real Prometheus scraping the real router, with these rules loaded, is in ../router-wired.test.ts.)
import { spawnSync } from 'node:child_process';
import OpenAI from 'openai';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChainApp, type ChainApp } from '../testing/chain-app.ts';
import { requireBinary } from '../testing/binaries.ts';

const RULES = new URL('./alerts/switchyard-rules.yml', import.meta.url).pathname;

describe('alert rules', () => {
  it('pass promtool check rules', () => {
    const promtool = requireBinary('promtool');
    const result = spawnSync(promtool, ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(result.stdout + result.stderr).toContain('SUCCESS: 7 rules found');
    expect(result.status).toBe(0);
  });
});

describe('with a governed app', () => {
  let app: ChainApp;
  let key: string;
  beforeAll(async () => {
    app = await startChainApp({ enabled: true, keys: { database: ':memory:' }, cache: { enabled: true } });
    key = app.governance.keys?.create({ name: 'obs', owner: 'o' }).key ?? '';
  });
  afterAll(async () => {
    await app?.close();
  });
  const chat = (): Promise<unknown> =>
    new OpenAI({ baseURL: `${app.url}/v1`, apiKey: key, maxRetries: 0 }).chat.completions.create({
      model: 'small',
      temperature: 0.5,
      messages: [{ role: 'user', content: 'metrics please' }],
    });

  it('serves /dashboard with live numbers in headless Chromium', async () => {
    const executablePath = requireBinary('chromium');
    const browser = await chromium.launch({
      executablePath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });
      page.on('pageerror', (error) => problems.push(error.message));
      for (let index = 0; index < 5; index++) await chat();
      await page.goto(`${app.url}/dashboard`);
      await page.waitForFunction("document.getElementById('rps').textContent !== '–'", undefined, { timeout: 10_000 });
      const rps = Number(await page.textContent('#rps'));
      expect(rps).toBeGreaterThan(0);
      expect(await page.textContent('#spend')).toMatch(/^\$0\.\d{6}$/);
      expect(Number((await page.textContent('#spend'))?.slice(1))).toBeGreaterThan(0);
      expect(await page.textContent('#healthy')).toBe('1 / 1');
      expect(await page.locator('#backends tr').count()).toBe(1);
      expect(await page.textContent('#backends')).toContain('25.0%');
      // Live: a new error shows up on the next refresh without reloading.
      app.governance.noteError('live-error-1', 502, 'upstream exploded');
      await page.waitForFunction("document.getElementById('errors').textContent.includes('live-error-1')", undefined, {
        timeout: 5_000,
      });
      const screenshot = await page.screenshot({ fullPage: true });
      expect(screenshot.byteLength).toBeGreaterThan(1_000);
      expect(await page.textContent('#status')).toMatch(/^updated /);
      expect(problems, problems.join('\n')).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
