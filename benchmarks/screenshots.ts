// Browser-checked PNGs for benchmarks/README.md: the embedded default's /dashboard after some demo traffic, and the
// eval HTML report of the sample suite against it. Headless Chromium (playwright-core + /usr/bin/chromium) loads
// each page; the script fails unless the page rendered real data with no console errors.
// Usage: npx tsx benchmarks/screenshots.ts [--out benchmarks/screenshots]
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';
import { embeddedDefaultConfig } from '../router/config/default.ts';
import { validateConfig } from '../router/config/load.ts';
import { ensureDemoKey } from '../router/governance/keys/demo-key.ts';
import { startRouter } from '../router/server.ts';
import { evalRun } from '../evals/commands/run.ts';
import { silentProgress } from '../evals/runner/progress.ts';
import { launchChromium } from './report/browser.ts';

const { values } = parseArgs({
  options: { out: { type: 'string', default: join(import.meta.dirname, 'screenshots') } },
});
const OUT = resolve(values.out);
mkdirSync(OUT, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'switchyard-screenshots-'));
const environment = {
  SWITCHYARD_GOVERNANCE_DB: join(work, 'governance.sqlite'),
  SWITCHYARD_INDEX_DIR: join(work, 'indexes'),
};
const config = validateConfig(embeddedDefaultConfig(environment), '(embedded default)', environment);
ensureDemoKey(config.governance.keys.database, config.governance.keys.loopbackKey ?? 'demo');
const router = await startRouter(
  { ...config, governance: { ...config.governance, logging: { ...config.governance.logging, level: 'warn' } } },
  { host: '127.0.0.1', port: 0, processMetrics: false },
);
/** Waits until every backend reports healthy with fresh metrics (a loaded machine can delay the first scrapes). */
async function allBackendsHealthy(url: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const data = (await (await fetch(`${url}/dashboard/data`)).json()) as { backends: { healthy: boolean }[] };
    if (data.backends.length > 0 && data.backends.every((backend) => backend.healthy)) return;
    if (Date.now() > deadline) throw new Error('backends did not all report healthy within 120 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const browser = await launchChromium();
try {
  await allBackendsHealthy(router.url);
  // Demo traffic through the real SDK, keyless as a local user sends it; then an unknown model for one error row.
  const client = new OpenAI({ baseURL: `${router.url}/v1`, apiKey: 'not-needed', maxRetries: 0, timeout: 60_000 });
  await Promise.all(
    Array.from({ length: 12 }, (_, index) =>
      client.chat.completions.create({
        model: index % 3 === 0 ? 'large' : 'small',
        messages: [{ role: 'user', content: `Question ${index}` }],
        max_tokens: 24,
      }),
    ),
  );
  await client.chat.completions
    .create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] })
    .catch(() => undefined);

  await allBackendsHealthy(router.url);
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  const errors: string[] = [];
  page.on(
    'console',
    (message) => void (message.type() === 'error' && !message.text().includes('404') && errors.push(message.text())),
  );
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${router.url}/dashboard`);
  await page.waitForFunction("document.getElementById('status')?.textContent?.startsWith('updated')", undefined, {
    timeout: 30_000,
  });
  const spend = await page.textContent('#spend');
  const backends = await page.$$eval('#backends tr', (rows) => rows.length);
  const healthy = await page.textContent('#healthy');
  if (healthy !== `${backends} / ${backends}`) throw new Error(`dashboard shows ${healthy} backends healthy`);
  const errorRows = await page.$$eval('#errors tr', (rows) => rows.length);
  if (!spend || Number(spend.replace('$', '')) <= 0) throw new Error(`dashboard shows no spend (${spend})`);
  if (backends < 4) throw new Error(`dashboard lists ${backends} backends, expected the embedded default's 4`);
  if (errorRows < 1) throw new Error('dashboard lists no recent error after a request for an unknown model');
  if (errors.length > 0) throw new Error(`dashboard console errors: ${errors.join('; ')}`);
  await page.screenshot({ path: join(OUT, 'dashboard.png'), fullPage: true });
  await page.close();
  console.log(
    `dashboard: spend ${spend}, ${backends} backends, ${errorRows} error row(s) → ${join(OUT, 'dashboard.png')}`,
  );

  const reportDir = join(work, 'eval');
  const code = await evalRun(
    {
      suite: join(import.meta.dirname, '..', 'evals', 'samples', 'suite.yaml'),
      target: 'llama-3.1-8b',
      routerUrl: router.url,
      embedder: 'hashed',
      cache: false,
      out: reportDir,
    },
    { stdout: () => undefined, stderr: () => undefined, progress: silentProgress },
  );
  const report = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const reportErrors: string[] = [];
  report.on('console', (message) => void (message.type() === 'error' && reportErrors.push(message.text())));
  report.on('pageerror', (error) => reportErrors.push(error.message));
  await report.goto(`file://${join(reportDir, 'report.html')}`);
  const title = await report.textContent('h1');
  if (!title?.includes('Eval report: sample')) throw new Error(`eval report heading: ${title}`);
  if (reportErrors.length > 0) throw new Error(`eval report console errors: ${reportErrors.join('; ')}`);
  await report.screenshot({ path: join(OUT, 'eval-report.png'), fullPage: false });
  await report.close();
  console.log(`eval report (eval run exit ${code}) → ${join(OUT, 'eval-report.png')}`);
} finally {
  await browser.close();
  await router.close();
  rmSync(work, { recursive: true, force: true });
}
