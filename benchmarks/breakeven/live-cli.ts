// `switchyard breakeven --live`: flags → a usage source → the live cost report (terminal text and JSON file).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PriceFile } from '../../models/catalog/prices.ts';
import { InvalidInputError } from '../loadgen/errors.ts';
import { parseNumber } from '../loadgen/options.ts';
import { DEFAULT_RESULTS_DIR } from '../loadgen/result-file.ts';
import { resolveApiPrice } from './compute.ts';
import { DEFAULT_PROFILE } from './inputs.ts';
import { formatLiveReport, liveReport, parseWindow, type LiveReport } from './live-report.ts';
import {
  prometheusSource,
  routerMetricsSource,
  scrapeFilesSource,
  type PrometheusSourceDeps,
  type RouterSourceDeps,
  type SourceOptions,
} from './live-source.ts';

export interface LiveFlags {
  router: string;
  window?: string;
  scrapes?: string[];
  prometheus?: string;
  gpuHourly?: string;
  apiModel: string;
  apiInputPrice?: string;
  apiOutputPrice?: string;
  inputTokens?: string;
  outputTokens?: string;
  tpotSlo: string;
  out?: string;
  json?: boolean;
}

export const DEFAULT_LIVE_WINDOW = '60s';

export async function runLiveBreakeven(
  flags: LiveFlags,
  prices: PriceFile,
  deps: RouterSourceDeps & PrometheusSourceDeps = {},
): Promise<{ report: LiveReport; text: string; path: string }> {
  const optional = (text: string | undefined, flag: string) =>
    text === undefined ? undefined : parseNumber(text, flag, { integer: true, exclusiveMin: true });
  const api = resolveApiPrice(prices, {
    apiModel: flags.apiModel,
    apiInputPrice:
      flags.apiInputPrice === undefined ? undefined : parseNumber(flags.apiInputPrice, '--api-input-price'),
    apiOutputPrice:
      flags.apiOutputPrice === undefined ? undefined : parseNumber(flags.apiOutputPrice, '--api-output-price'),
  });
  const options: SourceOptions = {
    prices,
    profile: {
      inputTokens: optional(flags.inputTokens, '--input-tokens') ?? DEFAULT_PROFILE.inputTokens,
      outputTokens: optional(flags.outputTokens, '--output-tokens') ?? DEFAULT_PROFILE.outputTokens,
    },
    slo: { tpotMs: parseNumber(flags.tpotSlo, '--tpot-slo', { exclusiveMin: true }) },
    ...(flags.gpuHourly === undefined
      ? {}
      : { gpuHourly: parseNumber(flags.gpuHourly, '--gpu-hourly', { exclusiveMin: true }) }),
  };
  let window: number;
  let source;
  if (flags.scrapes !== undefined && flags.prometheus !== undefined)
    throw new InvalidInputError('give --scrapes or --prometheus, not both');
  if (flags.scrapes !== undefined) {
    const [start, end, ...rest] = flags.scrapes;
    if (start === undefined || end === undefined || rest.length > 0)
      throw new InvalidInputError('--scrapes takes two files: the start and the end scrape');
    // Saved scrapes carry no time: a default window would silently make up the rate.
    if (flags.window === undefined)
      throw new InvalidInputError('--scrapes needs --window: the time between the two scrapes');
    window = parseWindow(flags.window);
    source = scrapeFilesSource(start, end, options);
  } else if (flags.prometheus !== undefined) {
    window = parseWindow(flags.window ?? DEFAULT_LIVE_WINDOW);
    source = prometheusSource(flags.prometheus, options, deps);
  } else {
    window = parseWindow(flags.window ?? DEFAULT_LIVE_WINDOW);
    source = routerMetricsSource(flags.router, options, deps);
  }
  const report = liveReport(await source.usage(window), api);
  const dir =
    flags.out ??
    join(DEFAULT_RESULTS_DIR, `breakeven-live-${report.createdAt.replace(/[:.]/g, '-').replace(/Z$/, '')}`);
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'breakeven-live.json');
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
  return {
    report,
    text: flags.json ? JSON.stringify(report, null, 2) : `${formatLiveReport(report)}\n\nreport: ${path}`,
    path,
  };
}
