// Opens a report in headless Chromium (playwright-core + Debian's /usr/bin/chromium; never a downloaded browser):
// used by the tests (no console errors, charts rendered) and to save PNG snapshots of reports.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env['SWITCHYARD_CHROMIUM'] ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

export interface RenderedReport {
  consoleErrors: string[];
  /** Requests the page tried to make to anything but its own file (a self-contained report makes none). */
  externalRequests: string[];
  charts: { id: string; width: number; height: number; paths: number }[];
  title: string;
}

/** Loads a report file and reports what a reader would see: errors, outside requests, and each chart's size. */
export async function inspectReport(
  browser: Browser,
  htmlPath: string,
  screenshotPath?: string,
  selector?: string,
): Promise<RenderedReport> {
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  const consoleErrors: string[] = [];
  const externalRequests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  page.on('request', (request) => {
    if (!request.url().startsWith('file://')) externalRequests.push(request.url());
  });
  try {
    await page.goto(`file://${htmlPath}`, { waitUntil: 'load' });
    const charts = await page.$$eval('svg.chart', (elements) =>
      elements.map((element) => {
        const box = element.getBoundingClientRect();
        return {
          id: element.getAttribute('data-chart') ?? '',
          width: box.width,
          height: box.height,
          paths: element.querySelectorAll('path.series').length,
        };
      }),
    );
    if (screenshotPath && selector) await page.locator(selector).first().screenshot({ path: screenshotPath });
    else if (screenshotPath) await page.screenshot({ path: screenshotPath, fullPage: true });
    return { consoleErrors, externalRequests, charts, title: await page.title() };
  } finally {
    await page.close();
  }
}

/** Saves a PNG of a report: the full page, or only the element `selector` matches (e.g. `.charts`). */
export async function screenshotReport(htmlPath: string, pngPath: string, selector?: string): Promise<void> {
  const browser = await launchChromium();
  try {
    await inspectReport(browser, htmlPath, pngPath, selector);
  } finally {
    await browser.close();
  }
}
