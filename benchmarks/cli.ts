// `switchyard bench`, `switchyard bench compare` and `switchyard breakeven`: the benchmarks/ layer's commands.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { request } from 'undici';
import { loadPrices } from '../models/catalog/prices.ts';
import { computeBreakeven } from './breakeven/compute.ts';
import { DEFAULT_LIVE_WINDOW, runLiveBreakeven } from './breakeven/live-cli.ts';
import { BreakevenInput, type BreakevenInputRaw, type ThroughputSource } from './breakeven/inputs.ts';
import { BenchmarkError, InvalidInputError, TargetUnavailableError, describeZodIssues } from './loadgen/errors.ts';
import { ModelList, configFromFlags, parseNumber, type BenchFlags } from './loadgen/options.ts';
import { progressHooks } from './loadgen/progress.ts';
import { DEFAULT_RESULTS_DIR, defaultResultPath, readResult, writeResult } from './loadgen/result-file.ts';
import { runBenchmark } from './loadgen/runner.ts';
import { compareResults, formatComparison, formatRun, formatSweep } from './loadgen/table.ts';
import { endpointUrl } from './loadgen/client.ts';
import { renderBenchReport } from './report/bench-report.ts';
import { breakevenCharts, formatBreakeven, renderBreakevenReport } from './report/breakeven-report.ts';
import { svgDocument } from './report/svg.ts';

/** Runs a command action; bad input prints one clear line and exits with status 2 instead of a stack trace. */
async function guarded(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (error instanceof BenchmarkError) {
      console.error(`error: ${error.message}`);
      process.exitCode = error.status >= 500 ? 1 : 2;
      return;
    }
    throw error;
  }
}

/** The first model the target lists (what `vllm bench serve` does when --model is omitted). */
async function firstModel(baseUrl: string, apiKey: string | undefined): Promise<string> {
  const url = endpointUrl(baseUrl, 'chat').replace(/chat\/completions$/, 'models');
  try {
    const response = await request(url, {
      headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const parsed = ModelList.safeParse(await response.body.json());
    if (response.statusCode !== 200 || !parsed.success) throw new Error(`status ${response.statusCode}`);
    return parsed.data.data[0]?.id ?? '';
  } catch (error) {
    throw new TargetUnavailableError(`cannot list models at ${url} (${(error as Error).message}); give --model`);
  }
}

/** Screenshots a report next to it; playwright-core is loaded only when asked for. */
async function savePng(htmlPath: string): Promise<string> {
  const { chromiumAvailable, CHROMIUM_PATH, screenshotReport } = await import('./report/browser.ts');
  if (!chromiumAvailable())
    throw new InvalidInputError(`--png needs Chromium at ${CHROMIUM_PATH} (apt-get install chromium)`);
  const pngPath = htmlPath.replace(/\.html$/, '.png');
  await screenshotReport(htmlPath, pngPath);
  return pngPath;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function utilizationValue(text: string): number {
  const percent = text.endsWith('%');
  const value = parseNumber(percent ? text.slice(0, -1) : text, '--utilization', { exclusiveMin: true });
  const fraction = percent || value > 1 ? value / 100 : value;
  if (fraction > 1) throw new InvalidInputError(`--utilization: "${text}" is above 100%`);
  return fraction;
}

interface BreakevenFlags {
  model?: string;
  gpu?: string;
  gpus?: string;
  replicas?: string;
  gpuHourly?: string;
  fromBench?: string;
  throughput?: string;
  live?: boolean;
  router: string;
  window?: string;
  scrapes?: string[];
  prometheus?: string;
  tpotSlo: string;
  ttftSlo?: string;
  utilization: string;
  inputTokens?: string;
  outputTokens?: string;
  requestsPerDay: string;
  apiModel: string;
  apiInputPrice?: string;
  apiOutputPrice?: string;
  prices?: string;
  claimsGpuPrice?: string[];
  out?: string;
  json?: boolean;
}

export function breakevenInputFromFlags(flags: BreakevenFlags): BreakevenInput {
  const sources = [flags.fromBench, flags.throughput].filter((value) => value !== undefined);
  if (sources.length > 1) throw new InvalidInputError('give at most one of --from-bench, --throughput');
  if (flags.model === undefined || flags.gpu === undefined) {
    throw new InvalidInputError(
      '--model and --gpu are required (except with --live, which reads them from the router)',
    );
  }
  const tpotMs = parseNumber(flags.tpotSlo, '--tpot-slo', { exclusiveMin: true });
  const throughput: ThroughputSource =
    flags.fromBench !== undefined
      ? { source: 'bench', path: flags.fromBench }
      : flags.throughput !== undefined
        ? { source: 'given', tokensPerS: parseNumber(flags.throughput, '--throughput', { exclusiveMin: true }) }
        : {
            source: 'estimate',
            tpotMs,
            ...(flags.ttftSlo === undefined
              ? {}
              : { ttftMs: parseNumber(flags.ttftSlo, '--ttft-slo', { exclusiveMin: true }) }),
          };
  const seedGpuHourly: Record<string, number> = {};
  for (const entry of flags.claimsGpuPrice ?? []) {
    const [gpu, price] = entry.split('=');
    seedGpuHourly[gpu ?? ''] = parseNumber(price ?? '', `--claims-gpu-price ${entry}`, { exclusiveMin: true });
  }
  const optional = (text: string | undefined, flag: string, integer = false) =>
    text === undefined ? undefined : parseNumber(text, flag, { integer, exclusiveMin: true });
  // Model and GPU stay strings until the schema checks them against the catalog.
  const raw: Omit<BreakevenInputRaw, 'model' | 'gpu'> & { model: string; gpu: string } = {
    model: flags.model,
    gpu: flags.gpu,
    throughput,
    utilization: utilizationValue(flags.utilization),
    requestsPerDay: parseNumber(flags.requestsPerDay, '--requests-per-day'),
    apiModel: flags.apiModel,
    seedCheckTpotMs: tpotMs,
    seedGpuHourly,
  };
  const assign = <K extends keyof typeof raw>(key: K, value: (typeof raw)[K] | undefined) => {
    if (value !== undefined) raw[key] = value;
  };
  assign('gpusPerReplica', optional(flags.gpus, '--gpus', true));
  assign('replicas', optional(flags.replicas, '--replicas', true));
  assign('gpuHourly', optional(flags.gpuHourly, '--gpu-hourly'));
  assign('inputTokens', optional(flags.inputTokens, '--input-tokens', true));
  assign('outputTokens', optional(flags.outputTokens, '--output-tokens', true));
  assign(
    'apiInputPrice',
    flags.apiInputPrice === undefined ? undefined : parseNumber(flags.apiInputPrice, '--api-input-price'),
  );
  assign(
    'apiOutputPrice',
    flags.apiOutputPrice === undefined ? undefined : parseNumber(flags.apiOutputPrice, '--api-output-price'),
  );
  const parsed = BreakevenInput.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue?.path[0] ?? '');
    if (field === 'model' || field === 'gpu' || field === 'seedGpuHourly') {
      throw new InvalidInputError(
        `unknown ${field === 'seedGpuHourly' ? 'GPU in --claims-gpu-price' : field === 'model' ? `model "${flags.model}"` : `GPU "${flags.gpu}"`}: ${issue?.message ?? ''}`,
      );
    }
    throw new InvalidInputError(describeZodIssues(parsed.error.issues));
  }
  return parsed.data;
}

export function registerBenchmarkCommands(program: Command): void {
  const bench = program
    .command('bench')
    .description('load-benchmark an OpenAI-compatible server (vLLM bench serve metrics; JSON + HTML report)')
    .option('--base-url <url>', 'target base URL (router, simulator, vLLM)', 'http://127.0.0.1:8080/v1')
    .option('--api-key <key>', 'bearer token (default: $OPENAI_API_KEY)')
    .option('--model <name>', 'model name (default: the first one /v1/models lists)')
    .option('--endpoint <kind>', 'chat or completions', 'chat')
    .option('--no-stream', 'non-streaming requests (no TTFT/ITL)')
    .option('--no-ignore-eos', 'do not send ignore_eos (hosted APIs reject it)')
    .option('--concurrency <n>', 'closed loop: requests in flight (default 1)')
    .option('--rate <req/s>', 'open loop: arrival rate')
    .option('--arrival <kind>', 'open-loop arrivals: poisson or constant', 'poisson')
    .option('--max-concurrency <n>', 'open loop: cap on requests in flight')
    .option('--sweep <list>', 'comma-separated ladder of concurrencies (closed) or rates (open)')
    .option('--requests <n>', 'requests per run (per sweep step)')
    .option('--duration <s>', 'seconds per run (per sweep step)')
    .option('--warmup <n>', 'warm-up requests before each run (not measured)', '0')
    .option('--drain-timeout <s>', 'after the duration, cancel requests still running after this long', '30')
    .option('--timeout <s>', 'per-request timeout', '600')
    .option('--dataset <kind>', 'synthetic, sharegpt, jsonl or rag', 'synthetic')
    .option('--dataset-path <path>', 'ShareGPT JSON or JSONL file')
    .option('--input-len <dist>', 'prompt tokens: N, uniform:A:B, normal:MEAN:STD, hist:N=W,...', '512')
    .option(
      '--output-len <dist>',
      'output tokens (max_tokens); for sharegpt, "dataset" keeps the reference length',
      '128',
    )
    .option('--rag-contexts <n>', 'rag: distinct shared contexts', '4')
    .option('--rag-context-len <n>', 'rag: tokens per context', '2000')
    .option('--rag-question-len <dist>', 'rag: question tokens', '32')
    .option('--seed <n>', 'RNG seed for prompts and arrivals', '0')
    .option('--goodput <slo...>', 'SLOs in ms, e.g. ttft:200 tpot:50 e2e:3000')
    .option('--percentiles <list>', 'percentiles to report', '50,90,95,99')
    .option('--out <path>', `result JSON (default ${DEFAULT_RESULTS_DIR}bench-<time>.json)`)
    .option('--no-html', 'skip the HTML report (written next to the JSON by default)')
    .option('--no-progress', 'no progress bar')
    .option('--png', 'also save a PNG of the report (needs Chromium at /usr/bin/chromium)')
    .action((flags: BenchFlags & { model?: string; out?: string; html: boolean; progress: boolean; png?: boolean }) =>
      guarded(async () => {
        const apiKey = flags.apiKey ?? process.env['OPENAI_API_KEY'];
        const model = flags.model ?? (await firstModel(flags.baseUrl, apiKey));
        const config = configFromFlags({ ...flags, model, ...(apiKey === undefined ? {} : { apiKey }) });
        const result = await runBenchmark(config, progressHooks(flags.progress && process.stderr.isTTY === true));
        for (const run of result.runs) console.log(formatRun(run));
        if (result.runs.length > 1) console.log(`\n${formatSweep(result)}`);
        const path = flags.out ?? defaultResultPath();
        await writeResult({ ...result, config: { ...config, apiKey: undefined } as typeof config }, path);
        console.log(`\nresult: ${path}`);
        if (flags.html) {
          const htmlPath = path.replace(/\.json$/, '') + '.html';
          await writeFile(htmlPath, renderBenchReport(result));
          console.log(`report: ${htmlPath}`);
          if (flags.png) console.log(`png: ${await savePng(htmlPath)}`);
        }
        if (result.runs.every((run) => run.summary.completed === 0)) {
          throw new TargetUnavailableError(
            `every request failed (${JSON.stringify(result.runs[0]?.summary.errorsByType ?? {})}); is ${config.baseUrl} up?`,
          );
        }
      }),
    );

  bench
    .command('compare')
    .description('print the deltas between two bench result files (b − a), step by step')
    .argument('<a>', 'baseline result JSON')
    .argument('<b>', 'candidate result JSON')
    .action((pathA: string, pathB: string) =>
      guarded(async () => {
        const [a, b] = await Promise.all([readResult(pathA), readResult(pathB)]);
        const note =
          a.runs.length === b.runs.length
            ? ''
            : `(compared the first ${Math.min(a.runs.length, b.runs.length)} steps: a has ${a.runs.length}, b has ${b.runs.length})`;
        console.log(formatComparison(compareResults(a, b), note));
      }),
    );

  program
    .command('breakeven')
    .description(
      'self-hosted vs API cost report: $/1M tokens, monthly cost, breakeven requests/day, common claims rechecked',
    )
    .option('--model <id>', 'catalog model (e.g. llama-3.1-8b); required except with --live')
    .option('--gpu <id>', 'catalog GPU (e.g. a100-80gb); required except with --live')
    .option('--gpus <n>', 'GPUs per replica (tensor parallel; default: smallest that fits)')
    .option('--replicas <n>', 'fixed number of replicas (default: as many as the traffic needs at --utilization)')
    .option('--gpu-hourly <usd>', '$ per GPU-hour (default: prices.yaml)')
    .option('--from-bench <path>', 'measured capacity: a `switchyard bench` result file')
    .option('--throughput <tok/s>', 'given capacity: total tokens/s per replica')
    .option('--live', "live: realized cost per pool from a running router's metrics over a window")
    .option(
      '--router <url>',
      'live: router base URL (its /metrics is scraped at the start and end of the window)',
      'http://127.0.0.1:8080',
    )
    .option('--window <duration>', `live: window, e.g. 60s, 5m, 1h (default ${DEFAULT_LIVE_WINDOW})`)
    .option(
      '--scrapes <files...>',
      'live: two saved scrapes of the router’s /metrics (start end) instead of --router; needs --window',
    )
    .option(
      '--prometheus <url>',
      'live: a Prometheus server scraping the router, read at now − window and now, instead of --router',
    )
    .option(
      '--tpot-slo <ms>',
      'estimated capacity: TPOT SLO (also used by the claims check and the live capacity fallback)',
      '50',
    )
    .option('--ttft-slo <ms>', 'estimated capacity: TTFT SLO')
    .option('--utilization <u>', 'average utilization, 0–1 or a percentage', '0.8')
    .option('--input-tokens <n>', 'input tokens per request (default: from the bench file, else 512)')
    .option('--output-tokens <n>', 'output tokens per request (default: from the bench file, else 256)')
    .option('--requests-per-day <n>', 'traffic', '250000')
    .option('--api-model <name>', 'hosted model from prices.yaml', 'gpt-4o-mini')
    .option('--api-input-price <usd>', '$ per 1M input tokens (overrides prices.yaml)')
    .option('--api-output-price <usd>', '$ per 1M output tokens (overrides prices.yaml)')
    .option('--prices <file>', 'price file (default: models/catalog/prices.yaml or $SWITCHYARD_PRICES)')
    .option('--claims-gpu-price <gpu=usd>', 'claims check: $ per GPU-hour instead of the catalog (repeatable)', collect)
    .option('--out <dir>', `report folder (default ${DEFAULT_RESULTS_DIR}breakeven-<time>/)`)
    .option('--json', 'print the report as JSON')
    .option('--png', 'also save a PNG of the report (needs Chromium at /usr/bin/chromium)')
    .action((flags: BreakevenFlags & { png?: boolean }) =>
      guarded(async () => {
        let prices;
        try {
          prices = flags.prices === undefined ? loadPrices() : loadPrices(flags.prices);
        } catch (error) {
          throw new InvalidInputError((error as Error).message);
        }
        if (flags.live === true || flags.scrapes !== undefined || flags.prometheus !== undefined) {
          const ignored = (['model', 'gpu', 'gpus', 'replicas', 'fromBench', 'throughput'] as const).filter(
            (flag) => flags[flag] !== undefined,
          );
          if (ignored.length > 0) {
            throw new InvalidInputError(
              `live mode reads pools, GPUs and traffic from the router: drop ${ignored.map((flag) => `--${flag.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`).join(', ')}`,
            );
          }
          const onWindowStart = (seconds: number) =>
            console.error(`scraped ${flags.router}; scraping again in ${seconds} s…`);
          console.log((await runLiveBreakeven(flags, prices, flags.json ? {} : { onWindowStart })).text);
          return;
        }
        const input = breakevenInputFromFlags(flags);
        const report = await computeBreakeven(input, { prices, readBench: readResult });
        const dir =
          flags.out ??
          join(DEFAULT_RESULTS_DIR, `breakeven-${report.createdAt.replace(/[:.]/g, '-').replace(/Z$/, '')}`);
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, 'breakeven.html'), renderBreakevenReport(report));
        await writeFile(join(dir, 'breakeven.json'), `${JSON.stringify(report, null, 2)}\n`);
        for (const chart of breakevenCharts(report))
          await writeFile(join(dir, `${chart.id}.svg`), svgDocument(chart.svg));
        console.log(flags.json ? JSON.stringify(report, null, 2) : formatBreakeven(report));
        if (!flags.json) console.log(`\nreport: ${join(dir, 'breakeven.html')}`);
        if (flags.png) {
          const png = await savePng(join(dir, 'breakeven.html'));
          if (!flags.json) console.log(`png: ${png}`);
        }
      }),
    );
}
