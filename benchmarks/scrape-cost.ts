// What scraping costs the router, per backend count: the router's metrics scraper (router/scheduling/metrics) polling
// 8 / 64 / 256 idle replicas every 50 ms, against the scraper as it was before (benchmarks/scrape-cost/, the baseline,
// measured in the same run). The replicas are real HTTP servers in a separate process that answer `/metrics`
// instantly with a realistic vLLM page (router/scheduling/fixtures/vllm-current-dp2.prom, 11 KB); each scraper runs
// alone in its own process, and only that process's CPU time and RSS are measured, after a warm-up.
//
//   npx tsx benchmarks/scrape-cost.ts [--backends 8,64,256] [--seconds 10] [--warmup 3] [--interval 50] [--json]
//
// CPU per scrape is printed too, and the cost per backend at the design rate (every 50 ms; the router's idle backoff:
// every 200 ms): on a loaded machine the replicas' process may not answer as fast as the scrapers ask.
// Two rows per count for the router's scraper: `idle` (nothing sent to the replicas: pages do not change, so the
// scraper backs off to its max interval) and `busy` (every replica's page changes on every scrape, so every replica
// is scraped every interval — the worst case, and what a fixed-interval scraper always pays).
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent } from 'undici';
import { createMetricsScraper } from '../router/scheduling/metrics/scraper.ts';
import { createMetricsScraper as createBaselineScraper } from './scrape-cost/baseline-scraper.ts';

const { values: args } = parseArgs({
  options: {
    role: { type: 'string', default: 'main' },
    backends: { type: 'string', default: '8,64,256' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    interval: { type: 'string', default: '50' },
    impl: { type: 'string', default: 'router' },
    urls: { type: 'string', default: '' },
    json: { type: 'boolean', default: false },
  },
});

const SELF = fileURLToPath(import.meta.url);
const PAGE = readFileSync(new URL('../router/scheduling/fixtures/vllm-current-dp2.prom', import.meta.url), 'utf8');

type Impl = 'baseline' | 'router-idle' | 'router-busy';

interface Measurement {
  impl: Impl;
  backends: number;
  /** CPU time over wall time, in % of one core. */
  cpuPercent: number;
  rssMb: number;
  scrapesPerSecond: number;
}

// ---------------------------------------------------------------- child: the replicas

/** N HTTP servers answering /metrics; `busy` makes every page differ from the last (the running gauge counts up). */
async function serveReplicas(count: number): Promise<void> {
  const servers: Server[] = [];
  const urls: string[] = [];
  for (let index = 0; index < count; index++) {
    let hits = 0;
    const server = createServer((request, response) => {
      hits++;
      const busy = request.url?.includes('busy') === true;
      const page = busy ? PAGE.replace('engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 7.0', `engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} ${hits}`) : PAGE;
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(page);
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }
  process.stdout.write(`${JSON.stringify(urls)}\n`);
  await new Promise<void>((resolve) => process.stdin.once('end', resolve).resume());
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  process.exit(0);
}

// ---------------------------------------------------------------- child: one scraper

async function runScraper(impl: Impl, urls: readonly string[]): Promise<void> {
  const intervalMs = Number(args.interval);
  const path = impl === 'router-busy' ? '/metrics?busy' : '/metrics';
  const backends = urls.map((url, index) => ({ id: `r${index}`, url, metricsUrl: `${url}${path}` }));
  const dispatcher = new Agent({ connections: 4, keepAliveTimeout: 60_000 });
  let scrapes = 0;
  const onScrape = (): void => void scrapes++;
  const options = { backends, intervalMs, staleAfterMs: 500, dispatcher, onScrape };
  const scraper = impl === 'baseline' ? createBaselineScraper(options) : createMetricsScraper(options);
  await scraper.start();
  await new Promise((resolve) => setTimeout(resolve, Number(args.warmup) * 1_000));
  const cpu = process.cpuUsage();
  const started = performance.now();
  const scrapesBefore = scrapes;
  await new Promise((resolve) => setTimeout(resolve, Number(args.seconds) * 1_000));
  const used = process.cpuUsage(cpu);
  const wallMs = performance.now() - started;
  const result = {
    cpuPercent: ((used.user + used.system) / 1_000 / wallMs) * 100,
    rssMb: process.memoryUsage().rss / 2 ** 20,
    scrapesPerSecond: ((scrapes - scrapesBefore) / wallMs) * 1_000,
  };
  scraper.stop();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await dispatcher.close();
  process.exit(0);
}

// ---------------------------------------------------------------- main

function child(args: readonly string[], keepStdin = false): { lines: AsyncIterator<string>; stop(): void; done: Promise<void> } {
  const process_ = spawn(process.execPath, ['--import', 'tsx', SELF, ...args], { stdio: [keepStdin ? 'pipe' : 'ignore', 'pipe', 'inherit'] });
  const done = new Promise<void>((resolve) => process_.once('exit', () => resolve()));
  async function* lines(): AsyncGenerator<string> {
    let buffer = '';
    for await (const chunk of process_.stdout!) {
      buffer += (chunk as Buffer).toString('utf8');
      let newline = buffer.indexOf('\n');
      while (newline !== -1) {
        yield buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf('\n');
      }
    }
  }
  return { lines: lines(), stop: () => process_.stdin?.end(), done };
}

async function measure(impl: Impl, urls: readonly string[]): Promise<Measurement> {
  const run = child(['--role', 'scraper', '--impl', impl, '--urls', urls.join(','), '--interval', args.interval, '--seconds', args.seconds, '--warmup', args.warmup]);
  const line = await run.lines.next();
  await run.done;
  if (line.done) throw new Error(`scraper child (${impl}, ${urls.length} backends) printed nothing`);
  return { impl, backends: urls.length, ...(JSON.parse(line.value) as Omit<Measurement, 'impl' | 'backends'>) };
}

async function main(): Promise<void> {
  if (args.role === 'replicas') return serveReplicas(Number(args.backends));
  if (args.role === 'scraper') return runScraper(args.impl as Impl, args.urls.split(','));
  const counts = args.backends.split(',').map(Number);
  const results: Measurement[] = [];
  for (const count of counts) {
    const replicas = child(['--role', 'replicas', '--backends', String(count)], true);
    const first = await replicas.lines.next();
    const urls = JSON.parse(first.value as string) as string[];
    for (const impl of ['baseline', 'router-idle', 'router-busy'] as const) results.push(await measure(impl, urls));
    replicas.stop();
    await replicas.done;
  }
  if (args.json) {
    console.log(JSON.stringify({ intervalMs: Number(args.interval), seconds: Number(args.seconds), results }, null, 2));
    return;
  }
  console.log(`scrape cost: ${args.interval} ms scrape interval, idle replicas answering /metrics instantly (11 KB vLLM page), ${args.seconds} s measured after ${args.warmup} s warm-up; one process per scraper`);
  // The replicas' process can fall behind on a loaded machine, so scrapes/s may be below the design rate; CPU per
  // scrape is comparable whatever rate was reached, and times the design rate gives the cost at the full rate.
  const designRate = (impl: Impl, backends: number): number => (backends * 1_000) / Number(args.interval) / (impl === 'router-idle' ? 4 : 1);
  console.log('backends  scraper        % of a core  per backend   RSS MB  scrapes/s (design)  µs CPU/scrape  vs baseline  at design rate, per backend');
  for (const result of results) {
    const baseline = results.find((other) => other.impl === 'baseline' && other.backends === result.backends)!;
    const perScrape = (row: Measurement): number => (row.cpuPercent * 10_000) / Math.max(1e-9, row.scrapesPerSecond);
    const design = designRate(result.impl, result.backends);
    console.log(
      [
        String(result.backends).padStart(8),
        result.impl.padEnd(14),
        `${result.cpuPercent.toFixed(2)} %`.padStart(11),
        `${(result.cpuPercent / result.backends).toFixed(3)} %`.padStart(11),
        result.rssMb.toFixed(0).padStart(8),
        `${result.scrapesPerSecond.toFixed(0)} (${design.toFixed(0)})`.padStart(19),
        perScrape(result).toFixed(0).padStart(14),
        (result.impl === 'baseline' ? '—' : `${(perScrape(baseline) / perScrape(result)).toFixed(2)}× less`).padStart(12),
        `${((perScrape(result) * design) / 10_000 / result.backends).toFixed(3)} % of a core`.padStart(28),
      ].join(' '),
    );
  }
  for (const impl of ['baseline', 'router-idle', 'router-busy'] as const) {
    const rows = results.filter((result) => result.impl === impl).sort((a, b) => a.backends - b.backends);
    if (rows.length < 2) continue;
    const low = rows[0]!;
    const high = rows.at(-1)!;
    const cpu = (high.cpuPercent - low.cpuPercent) / (high.backends - low.backends);
    const rss = (high.rssMb - low.rssMb) / (high.backends - low.backends);
    console.log(`${impl}: marginal cost per backend ${low.backends}→${high.backends}: ${cpu.toFixed(3)} % of a core, ${rss.toFixed(2)} MB RSS`);
  }
}

await main();
