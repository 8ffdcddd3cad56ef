// What scraping costs the router, per backend count: the router's metrics scraper (router/scheduling/metrics) polling
// 8 / 64 / 256 replicas every 50 ms, against the scraper as it was before (benchmarks/scrape-cost/, the baseline,
// measured in the same run). The replicas are HTTP servers in a separate process that answer `/metrics` instantly
// with a realistic vLLM page (router/scheduling/fixtures/vllm-current-dp2.prom, 11 KB) from a prebuilt response on a
// raw socket (a few µs each, so they keep up on a shared machine); each scraper runs alone in its own process, and
// only that process's CPU time, RSS and live heap are measured, after a warm-up.
//
//   npx tsx benchmarks/scrape-cost.ts [--backends 8,64,256] [--seconds 5] [--warmup 4] [--interval 50] [--no-nice] [--json]
//
// Rows per backend count: `baseline`; `router-idle` (nothing sent to the replicas and pages that do not change: the
// scraper backs off to its maximum interval, 1 s) — the case the targets are for; `router-busy` (every page changes
// on every scrape, so every replica is scraped every interval: the worst case, and what a fixed-interval scraper
// always pays); and once, `none`: the same process without a scraper (the floor of a Node process, for context).
// Targets (idle, 256 backends): ≤ 0.05 % of a core and ≤ 0.2 MB RSS per backend. CPU per backend is the whole process's CPU over the backend count (fixed costs included); memory per backend is the RSS slope over the
// backend counts (least squares), and the live heap (after a forced GC) the scraper holds per backend.
// The benchmark runs at a raised priority (nice −10 in a scheduling group of its own, as root: host-priority.ts;
// --no-nice to skip) so that a busy host delays the replicas and scrapers less;
// the load average is printed, and a row whose scrape rate fell below 90 % of the design rate is marked not valid.
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, setPriority } from 'node:os';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent } from 'undici';
import { createMetricsScraper } from '../router/scheduling/metrics/scraper.ts';
import { createMetricsScraper as createBaselineScraper } from './scrape-cost/baseline-scraper.ts';
import { boosted, boostSelf } from './host-priority.ts';

const { values: args } = parseArgs({
  options: {
    role: { type: 'string', default: 'main' },
    backends: { type: 'string', default: '8,64,256' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '4' },
    interval: { type: 'string', default: '50' },
    impl: { type: 'string', default: 'router' },
    urls: { type: 'string', default: '' },
    'no-nice': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});

const SELF = fileURLToPath(import.meta.url);
const PAGE = readFileSync(new URL('../router/scheduling/fixtures/vllm-current-dp2.prom', import.meta.url), 'utf8');
/** The router scraper's longest idle gap at the default 50 ms interval (min(20 × interval, 1 s)). */
const IDLE_GAP_MS = Math.min(20 * Number(args.interval), 1_000);
const TARGET_CPU_PER_BACKEND = 0.05;
const TARGET_MB_PER_BACKEND = 0.2;

type Impl = 'none' | 'baseline' | 'router-idle' | 'router-busy';

interface Measurement {
  impl: Impl;
  backends: number;
  /** CPU time over wall time, in % of one core. */
  cpuPercent: number;
  rssMb: number;
  /** Live JS heap + external memory (buffers) the scraper holds, after a forced GC, per backend. */
  heapKbPerBackend: number;
  scrapesPerSecond: number;
}

// ---------------------------------------------------------------- child: the replicas

/**
 * N servers answering every HTTP/1.1 request with the page, keep-alive. `busy` requests (path containing "busy") get
 * a page whose running gauge counts up, so it differs from the last. Requests are GETs without a body: one per
 * blank line.
 */
async function serveReplicas(count: number): Promise<void> {
  const head = (length: number): string =>
    `HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: ${length}\r\nkeep-alive: timeout=60\r\n\r\n`;
  const idle = Buffer.from(head(Buffer.byteLength(PAGE)) + PAGE, 'utf8');
  const busyPage = PAGE.replace(
    'engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 7.0',
    'engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 1000000000',
  );
  const busyTemplate = Buffer.from(head(Buffer.byteLength(busyPage)) + busyPage, 'utf8');
  const counterAt = busyTemplate.indexOf('1000000000');
  const servers = [];
  const urls: string[] = [];
  const sockets = new Set<Socket>();
  for (let index = 0; index < count; index++) {
    let hits = 0;
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.setNoDelay(true);
      let tail = '';
      socket.on('data', (chunk: Buffer) => {
        const text = tail + chunk.toString('latin1');
        let at = text.indexOf('\r\n\r\n');
        let from = 0;
        while (at !== -1) {
          hits++;
          if (text.slice(from, at).includes('busy')) {
            const page = Buffer.from(busyTemplate);
            page.write(String(1_000_000_000 + hits), counterAt, 'latin1');
            socket.write(page);
          } else socket.write(idle);
          from = at + 4;
          at = text.indexOf('\r\n\r\n', from);
        }
        tail = text.slice(from);
      });
      socket.on('error', () => socket.destroy());
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }
  process.stdout.write(`${JSON.stringify(urls)}\n`);
  await new Promise<void>((resolve) => process.stdin.once('end', resolve).resume());
  for (const socket of sockets) socket.destroy();
  for (const server of servers) server.close();
  process.exit(0);
}

// ---------------------------------------------------------------- child: one scraper

function liveBytes(): number {
  (globalThis as { gc?: () => void }).gc?.();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

async function runScraper(impl: Impl, urls: readonly string[]): Promise<void> {
  const intervalMs = Number(args.interval);
  const path = impl === 'router-busy' ? '/metrics?busy' : '/metrics';
  const backends = urls.map((url, index) => ({ id: `r${index}`, url, metricsUrl: `${url}${path}` }));
  // The router's scraper uses its own shared keep-alive agent; the baseline gets one like it.
  const dispatcher = new Agent({ connections: 2, keepAliveTimeout: 60_000 });
  let baselineScrapes = 0;
  const before = liveBytes();
  const options = { backends, intervalMs, staleAfterMs: 500 };
  const router = impl === 'router-idle' || impl === 'router-busy' ? createMetricsScraper(options) : undefined;
  const scraper =
    router ??
    (impl === 'baseline'
      ? createBaselineScraper({ ...options, dispatcher, onScrape: () => void baselineScrapes++ })
      : undefined);
  const scrapes = (): number => router?.scrapes ?? baselineScrapes;
  await scraper?.start();
  await new Promise((resolve) => setTimeout(resolve, Number(args.warmup) * 1_000));
  const cpu = process.cpuUsage();
  const started = performance.now();
  const scrapesBefore = scrapes();
  await new Promise((resolve) => setTimeout(resolve, Number(args.seconds) * 1_000));
  const used = process.cpuUsage(cpu);
  const wallMs = performance.now() - started;
  const scraped = scrapes() - scrapesBefore;
  const rssMb = process.memoryUsage().rss / 2 ** 20;
  const result = {
    cpuPercent: ((used.user + used.system) / 1_000 / wallMs) * 100,
    rssMb,
    heapKbPerBackend: (liveBytes() - before) / 1_024 / urls.length,
    scrapesPerSecond: (scraped / wallMs) * 1_000,
  };
  scraper?.stop();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await dispatcher.close();
  process.exit(0);
}

// ---------------------------------------------------------------- main

function child(
  args: readonly string[],
  keepStdin = false,
): { lines: AsyncIterator<string>; stop(): void; done: Promise<void> } {
  const process_ = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', SELF, ...args], {
    stdio: [keepStdin ? 'pipe' : 'ignore', 'pipe', 'inherit'],
  });
  if (!args.includes('--no-nice') && process_.pid !== undefined) {
    try {
      setPriority(process_.pid, -10);
    } catch {
      // Not root: the children run at normal priority (the load average still tells how busy the host was).
    }
  }
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

const NICE = args['no-nice'] ? ['--no-nice'] : [];

async function measure(impl: Impl, urls: readonly string[]): Promise<Measurement> {
  const run = child([
    '--role',
    'scraper',
    '--impl',
    impl,
    '--urls',
    urls.join(','),
    '--interval',
    args.interval,
    '--seconds',
    args.seconds,
    '--warmup',
    args.warmup,
    ...NICE,
  ]);
  const line = await run.lines.next();
  await run.done;
  if (line.done) throw new Error(`scraper child (${impl}, ${urls.length} backends) printed nothing`);
  return { impl, backends: urls.length, ...(JSON.parse(line.value) as Omit<Measurement, 'impl' | 'backends'>) };
}

/** Scrapes per second the scraper asks for: every interval, or every idle gap once backed off. */
function designRate(impl: Impl, backends: number): number {
  if (impl === 'none') return 0;
  return (backends * 1_000) / (impl === 'router-idle' ? IDLE_GAP_MS : Number(args.interval));
}

function valid(result: Measurement): boolean {
  return result.scrapesPerSecond >= 0.9 * designRate(result.impl, result.backends);
}

/** RSS slope over the backend counts of one scraper (least squares), MB per backend. */
function rssSlope(results: readonly Measurement[], impl: Impl): number {
  const rows = results.filter((result) => result.impl === impl);
  if (rows.length < 2) return NaN;
  const meanX = rows.reduce((sum, row) => sum + row.backends, 0) / rows.length;
  const meanY = rows.reduce((sum, row) => sum + row.rssMb, 0) / rows.length;
  const covariance = rows.reduce((sum, row) => sum + (row.backends - meanX) * (row.rssMb - meanY), 0);
  const variance = rows.reduce((sum, row) => sum + (row.backends - meanX) ** 2, 0);
  return covariance / variance;
}

async function main(): Promise<void> {
  if (args.role === 'replicas') return serveReplicas(Number(args.backends));
  if (args.role === 'main' && (await boostSelf(!args['no-nice']))) return;
  if (args.role === 'scraper') return runScraper(args.impl as Impl, args.urls.split(','));
  const counts = args.backends.split(',').map(Number);
  const loadBefore = loadavg()[0]!;
  const results: Measurement[] = [];
  for (const count of counts) {
    const replicas = child(['--role', 'replicas', '--backends', String(count), ...NICE], true);
    const first = await replicas.lines.next();
    const urls = JSON.parse(first.value as string) as string[];
    const impls =
      count === counts[0]
        ? (['none', 'baseline', 'router-idle', 'router-busy'] as const)
        : (['baseline', 'router-idle', 'router-busy'] as const);
    for (const impl of impls) results.push(await measure(impl, urls));
    replicas.stop();
    await replicas.done;
  }
  const loadAfter = loadavg()[0]!;
  const cores = cpus().length;
  const largest = Math.max(...counts);
  const idleLargest = results.find((result) => result.impl === 'router-idle' && result.backends === largest)!;
  const cpuPerBackend = idleLargest.cpuPercent / largest;
  const mbPerBackend = Math.max(rssSlope(results, 'router-idle'), idleLargest.heapKbPerBackend / 1_024);
  const verdict = {
    backends: largest,
    cpuPercentPerBackend: cpuPerBackend,
    cpuPass: cpuPerBackend <= TARGET_CPU_PER_BACKEND,
    mbPerBackend,
    memoryPass: mbPerBackend <= TARGET_MB_PER_BACKEND,
    valid: valid(idleLargest),
  };
  const busyHost = Math.max(loadBefore, loadAfter) > 2 * cores;
  if (args.json) {
    const settings = {
      intervalMs: Number(args.interval),
      idleGapMs: IDLE_GAP_MS,
      seconds: Number(args.seconds),
      warmup: Number(args.warmup),
    };
    console.log(
      JSON.stringify(
        { ...settings, loadAverage: { before: loadBefore, after: loadAfter, cores }, results, verdict },
        null,
        2,
      ),
    );
    return;
  }
  console.log(
    `scrape cost: ${args.interval} ms scrape interval (router idle backoff up to ${IDLE_GAP_MS} ms), replicas answering /metrics instantly ` +
      `(11 KB vLLM page), ${args.seconds} s measured after ${args.warmup} s warm-up; one process per scraper; ` +
      `load average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)} on ${cores} cores${boosted() ? ', processes at nice −10 in their own scheduling group' : ''}`,
  );
  if (busyHost)
    console.log(
      `WARNING: load average above ${2 * cores} (2 × cores): other processes shared the CPU; re-run on a quieter host to confirm`,
    );
  console.log(
    'backends  scraper        % of a core  per backend   RSS MB  heap KB/backend  scrapes/s (design)  µs CPU/scrape  vs baseline',
  );
  const perScrape = (row: Measurement): number => (row.cpuPercent * 10_000) / Math.max(1e-9, row.scrapesPerSecond);
  for (const result of results) {
    const baseline = results.find((other) => other.impl === 'baseline' && other.backends === result.backends)!;
    if (result.impl === 'none') {
      console.log(
        `${String(result.backends).padStart(8)} none (floor)   ${`${result.cpuPercent.toFixed(2)} %`.padStart(11)}${' '.repeat(12)} ${result.rssMb.toFixed(0).padStart(8)}   (a Node process with tsx and no scraper)`,
      );
      continue;
    }
    console.log(
      [
        String(result.backends).padStart(8),
        result.impl.padEnd(14),
        `${result.cpuPercent.toFixed(2)} %`.padStart(11),
        `${(result.cpuPercent / result.backends).toFixed(3)} %`.padStart(11),
        result.rssMb.toFixed(0).padStart(8),
        result.heapKbPerBackend.toFixed(1).padStart(16),
        `${result.scrapesPerSecond.toFixed(0)} (${designRate(result.impl, result.backends).toFixed(0)})${valid(result) ? '' : ' NOT VALID'}`.padStart(
          19,
        ),
        perScrape(result).toFixed(0).padStart(14),
        (result.impl === 'baseline'
          ? '—'
          : `CPU ${(baseline.cpuPercent / result.cpuPercent).toFixed(2)}× less`
        ).padStart(17),
      ].join(' '),
    );
  }
  for (const impl of ['baseline', 'router-idle', 'router-busy'] as const) {
    const slope = rssSlope(results, impl);
    if (Number.isFinite(slope))
      console.log(
        `${impl}: RSS slope over ${counts.join('/')} backends (least squares): ${slope.toFixed(3)} MB per backend`,
      );
  }
  const mark = (pass: boolean): string => (pass ? 'PASS' : 'FAIL');
  console.log(
    `targets at ${largest} idle backends: CPU ${cpuPerBackend.toFixed(4)} % of a core per backend (≤ ${TARGET_CPU_PER_BACKEND}) ${mark(verdict.cpuPass)}; ` +
      `memory ${mbPerBackend.toFixed(3)} MB per backend (larger of RSS slope and live heap; ≤ ${TARGET_MB_PER_BACKEND}) ${mark(verdict.memoryPass)}` +
      (verdict.valid ? '' : ' — NOT VALID: the scraper did not reach 90 % of its design scrape rate (host too busy)'),
  );
}

await main();
