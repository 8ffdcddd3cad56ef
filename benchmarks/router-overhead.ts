// Router overhead: the same load (non-stream and stream, concurrency 1/16/64/256) against a fast fake upstream
// directly, through a bare undici pass-through proxy (the runtime's limit), and through the Switchyard router, in
// alternating rounds. Each server runs in its own process so the router's CPU time is its own.
//
//   npm run build && node dist/benchmarks/router-overhead.js [--quick] [--rounds 5] [--concurrency 1,16,64,256]
//       [--rates 100,200] [--modes json,stream] [--itl-ms 1] [--round-seconds 1.5]
//       [--ttft-concurrency 1,64] [--ttft-itl-ms 20] [--ttft-tokens 8] [--semi-space 16 (MiB; 0 = V8's default)]
//   (`npx tsx benchmarks/router-overhead.ts …` runs the TypeScript sources through tsx instead: not what ships.)
//
// The proxy and the router run with the same V8 flags, the ones `npm start` and the router image use
// (router/node-flags.ts), so the comparison is between the two programs, not between their GC settings.
//
// Each mode gets its own fake upstream (core/testing/fake-upstream.ts, timers only: a busy-waiting upstream would take
// one of the host's cores from the processes being measured), proxy and router:
// - JSON (closed loop per concurrency): the upstream answers at once, so rps and CPU per request compare the router's
//   own work with the proxy's at the runtime's limit (the issue's JSON targets).
// - Streams (16 tokens, --itl-ms 1): saturating on purpose. At concurrency 64 this upstream emits ~64,000 events/s,
//   ~20× what a whole H100 decodes (~3k tokens/s); the TTFT of these levels is printed, but it measures queueing for
//   2 CPU cores shared by client, upstream, proxy and router (a bare proxy adds ~10 ms there), not the router.
// - Time to first token (the issue's TTFT targets, concurrency 1 and 64): an upstream decoding like a real vLLM
//   replica (--ttft-itl-ms 20: 50 tokens/s per stream, 3,200 tokens/s at concurrency 64; --ttft-tokens 8 keeps
//   requests short so concurrency 1 gets enough samples). The host is not saturated there, so router TTFT minus
//   direct TTFT is the time the first content event spends in the router; host-wakeup.ts's echo, printed beside it,
//   is the floor any extra hop pays on this host.
//
// Rounds are timed (--round-seconds per target per round; TTFT rounds twice that), so a full run is bounded (~7 min
// on 2 idle cores) and each level's row is printed as soon as it finishes. Open loop (per --rates, requests/s arriving
// on a fixed schedule) measures the latency the router adds at moderate load, below saturation.
// Prints per (mode, concurrency): p50/p99 latency of each target, the latency the proxy and the router add over the
// direct path, throughput ratio router/proxy, the streaming inter-token-latency delta, the router's self-measured
// overhead (x-switchyard-overhead-ms, and x-switchyard-ttfb-overhead-ms for streams) and CPU time per request of
// proxy and router. Streams also get time to first token (the first event carrying content) per target. The router's
// RSS is sampled every 100 ms (peak under load). The last lines are PASS/FAIL per target of the performance issue
// (TTFT added, JSON throughput and CPU vs the proxy, RSS).
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { loadAverage, ttftTable, verdicts, type LevelResult } from './router-overhead-targets.ts';
import { describeWakeup, measureWakeup } from './host-wakeup.ts';
import { ROUTER_NODE_FLAGS } from '../router/node-flags.ts';

type Role = 'upstream' | 'proxy' | 'router';
type Target = 'direct' | 'proxy' | 'router';
type Mode = 'json' | 'stream';
interface ChildMessage {
  port?: number;
  cpu?: NodeJS.CpuUsage;
  /** Resident set size now and the peak since the last 'cpu' message, bytes. */
  rss?: number;
  peakRss?: number;
}
/** Compiled (`node dist/benchmarks/router-overhead.js`) or the sources through tsx. */
const COMPILED = import.meta.url.endsWith('.js');
function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

/** V8 semi-space (MiB) for the proxy and the router processes, as `npm start` runs the router; 0 = V8's default. */
const SEMI_SPACE_MB = Number(argument('semi-space') ?? 16);

// ---------------------------------------------------------------- child processes
async function runRole(role: Role): Promise<void> {
  let port: number;
  if (role === 'upstream') {
    const { startFakeUpstream } = await import('../core/testing/fake-upstream.ts');
    const itlMs = Number(argument('itl-ms') ?? 1);
    const upstream = await startFakeUpstream({
      tokens: Number(argument('tokens') ?? 16),
      ttftMs: itlMs,
      itlMs,
      spinMs: Number(argument('spin-ms') ?? 1),
    });
    port = upstream.port;
  } else if (role === 'proxy') {
    port = await startBareProxy(argument('upstream')!);
  } else {
    const { startRouter } = await import('../router/server.ts');
    const { validateConfig } = await import('../router/config/load.ts');
    const upstreamUrl = argument('upstream')!;
    const config = validateConfig(
      {
        pools: [{ name: 'pool', kind: 'vllm', model: 'llama-3.1-8b', gpu: 'h100', backends: [{ url: upstreamUrl }] }],
        models: [{ name: 'llama-3.1-8b', route: ['pool'] }],
        // A CPU-saturated host delays scrapes; a generous staleness limit keeps the benchmark about overhead, not
        // about fail-closed scheduling (which the tests cover).
        scheduling: { scrapeIntervalMs: 100, staleAfterMs: 5_000 },
        // `--request-logs off` (router-instructions.ts): both per-request logs off, to price them.
        ...(argument('request-logs') === 'off'
          ? { server: { requestLog: false }, requestLog: { enabled: false } }
          : {}),
      },
      'bench',
      {},
    );
    const router = await startRouter(config, { host: '127.0.0.1', port: 0, processMetrics: false });
    port = router.port;
  }
  // SIGINT exits normally, so a --cpu-prof profile gets written.
  process.once('SIGINT', () => process.exit(0));
  let peakRss = process.memoryUsage.rss();
  setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 100).unref();
  process.on('message', (message: string) => {
    if (message !== 'cpu') return;
    const rss = process.memoryUsage.rss();
    process.send?.({ cpu: process.cpuUsage(), rss, peakRss: Math.max(peakRss, rss) } satisfies ChildMessage);
    peakRss = rss;
  });
  process.send?.({ port } satisfies ChildMessage);
}

/** The runtime's limit: forward method, path, headers and body over an undici pool, pipe the answer back. */
async function startBareProxy(upstream: string): Promise<number> {
  const pool = new Pool(upstream, { connections: 512, keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0 });
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      pool
        .request({
          path: request.url ?? '/',
          method: request.method as 'POST',
          headers: { 'content-type': 'application/json' },
          body: Buffer.concat(chunks),
        })
        .then(async (upstreamResponse) => {
          response.writeHead(upstreamResponse.statusCode, {
            'content-type': String(upstreamResponse.headers['content-type'] ?? 'application/json'),
          });
          for await (const piece of upstreamResponse.body) response.write(piece);
          response.end();
        })
        .catch(() => {
          if (!response.headersSent) response.writeHead(502);
          response.end();
        });
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

// ---------------------------------------------------------------- orchestration
interface Child {
  process: ChildProcess;
  port: number;
}

async function spawnRole(role: Role, extra: string[]): Promise<Child> {
  const script = fileURLToPath(import.meta.url);
  // ROUTER_BENCH_PROFILE=dir writes CPU profiles of the proxy and router processes (node --cpu-prof) into a folder
  // per role, so the two can be compared; the busiest profile in each folder is the main thread's.
  const profile =
    role !== 'upstream' && process.env['ROUTER_BENCH_PROFILE']
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env['ROUTER_BENCH_PROFILE']}/${role}`]
      : [];
  // The router's own V8 flags (router/node-flags.ts), with the semi-space of --semi-space, for the proxy too.
  const heap =
    role === 'upstream'
      ? []
      : ROUTER_NODE_FLAGS.filter((flag) => !flag.startsWith('--max-semi-space-size=')).concat(
          SEMI_SPACE_MB > 0 ? [`--max-semi-space-size=${SEMI_SPACE_MB}`] : [],
        );
  const child = fork(script, ['--role', role, ...extra], {
    execArgv: [...(COMPILED ? [] : ['--import', 'tsx']), ...heap, ...profile],
    // The router's request log (one line per request, on by default) is written as in production, but not shown.
    stdio: ['ignore', role === 'router' ? 'ignore' : 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message: ChildMessage) =>
      message.port ? resolve(message.port) : reject(new Error('no port')),
    );
    child.once('exit', (code) => reject(new Error(`${role} exited with ${code}`)));
  });
  return { process: child, port };
}

/** Peak RSS of each child seen by cpuOf, MB. */
const peakRssMb = new Map<ChildProcess, number>();

async function cpuOf(child: Child): Promise<number> {
  child.process.send('cpu');
  const message = await new Promise<ChildMessage>((resolve) => child.process.once('message', resolve));
  const usage = message.cpu!;
  peakRssMb.set(child.process, Math.max(peakRssMb.get(child.process) ?? 0, (message.peakRss ?? 0) / 1048576));
  return (usage.user + usage.system) / 1000;
}

interface Sample {
  latencies: number[];
  itls: number[];
  /** Streams: request sent → first event with content, ms. */
  ttfts: number[];
  overheads: number[];
  /** Streams: the router's own time before the first byte (x-switchyard-ttfb-overhead-ms). */
  ttfbOverheads: number[];
  elapsedMs: number;
  requests: number;
  errors: number;
  firstError?: string;
}

const BODY = (stream: boolean): string =>
  JSON.stringify({
    model: 'llama-3.1-8b',
    messages: [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: 'Write one short sentence about railway switchyards.' },
    ],
    max_tokens: 16,
    stream,
  });

/** A delta with non-empty content: the first token (the role chunk before it has `"content":""`). */
const CONTENT = /"content":"[^"]/;

async function oneRequest(pool: Pool, mode: Mode, body: string, sample: Sample): Promise<void> {
  const begin = performance.now();
  try {
    const response = await pool.request({
      path: '/v1/chat/completions',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const overhead = response.headers['x-switchyard-overhead-ms'];
    if (typeof overhead === 'string') sample.overheads.push(Number(overhead));
    const ttfbOverhead = response.headers['x-switchyard-ttfb-overhead-ms'];
    if (typeof ttfbOverhead === 'string') sample.ttfbOverheads.push(Number(ttfbOverhead));
    if (mode === 'json') {
      await response.body.text();
    } else {
      let first = 0;
      let last = 0;
      let events = 0;
      let firstContent = 0;
      for await (const piece of response.body) {
        const now = performance.now();
        const text = piece.toString();
        const count = (text.match(/data: \{/g) ?? []).length;
        if (count === 0) continue;
        if (events === 0) first = now;
        if (firstContent === 0 && CONTENT.test(text)) firstContent = now;
        last = now;
        events += count;
      }
      if (firstContent > 0) sample.ttfts.push(firstContent - begin);
      if (events > 2) sample.itls.push((last - first) / (events - 1));
    }
    if (response.statusCode !== 200) {
      sample.errors++;
      sample.firstError ??= `HTTP ${response.statusCode}`;
    }
    sample.latencies.push(performance.now() - begin);
  } catch (error) {
    sample.errors++;
    sample.firstError ??= (error as Error).message;
  }
  sample.requests++;
}

const emptySample = (): Sample => ({
  latencies: [],
  itls: [],
  ttfts: [],
  overheads: [],
  ttfbOverheads: [],
  elapsedMs: 0,
  requests: 0,
  errors: 0,
});

/** Closed loop for `seconds`: `concurrency` clients, each sending its next request when the previous one is answered. */
async function runLoad(pool: Pool, mode: Mode, concurrency: number, seconds: number): Promise<Sample> {
  const body = BODY(mode === 'stream');
  const sample = emptySample();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) await oneRequest(pool, mode, body, sample);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  sample.elapsedMs = performance.now() - started;
  return sample;
}

/**
 * Open loop: requests arrive at a fixed rate whatever the answers do — "moderate load" is a rate well below what the
 * host can serve, where added latency is the router's own work and not queueing behind a saturated CPU.
 */
async function runOpenLoop(pool: Pool, mode: Mode, ratePerSecond: number, total: number): Promise<Sample> {
  const body = BODY(mode === 'stream');
  const sample = emptySample();
  const started = performance.now();
  const intervalMs = 1000 / ratePerSecond;
  const pending: Promise<void>[] = [];
  for (let index = 0; index < total; index++) {
    const due = started + index * intervalMs;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(oneRequest(pool, mode, body, sample));
  }
  await Promise.all(pending);
  sample.elapsedMs = performance.now() - started;
  return sample;
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const mean = (values: readonly number[]): number =>
  values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);

function merge(samples: readonly Sample[]): Sample {
  return {
    latencies: samples.flatMap((sample) => sample.latencies),
    itls: samples.flatMap((sample) => sample.itls),
    ttfts: samples.flatMap((sample) => sample.ttfts),
    overheads: samples.flatMap((sample) => sample.overheads),
    ttfbOverheads: samples.flatMap((sample) => sample.ttfbOverheads),
    elapsedMs: samples.reduce((sum, sample) => sum + sample.elapsedMs, 0),
    requests: samples.reduce((sum, sample) => sum + sample.requests, 0),
    errors: samples.reduce((sum, sample) => sum + sample.errors, 0),
    ...(samples.find((sample) => sample.firstError)
      ? { firstError: samples.find((sample) => sample.firstError)!.firstError! }
      : {}),
  };
}

interface Trio {
  upstream: Child;
  children: Record<'proxy' | 'router', Child>;
  pools: Record<Target, Pool>;
}

/** An upstream with its proxy and router, and a client pool to each. */
async function startTrio(upstreamArgs: string[]): Promise<Trio> {
  const upstream = await spawnRole('upstream', upstreamArgs);
  const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
  const proxy = await spawnRole('proxy', ['--upstream', upstreamUrl]);
  const router = await spawnRole('router', ['--upstream', upstreamUrl]);
  const ports: Record<Target, number> = { direct: upstream.port, proxy: proxy.port, router: router.port };
  const pools = Object.fromEntries(
    (Object.keys(ports) as Target[]).map((target) => [
      target,
      new Pool(`http://127.0.0.1:${ports[target]}`, { connections: 512, pipelining: 1 }),
    ]),
  ) as Record<Target, Pool>;
  return { upstream, children: { proxy, router }, pools };
}

async function stopTrio(trio: Trio): Promise<void> {
  await Promise.all(Object.values(trio.pools).map((pool) => pool.close()));
  for (const child of [trio.upstream, trio.children.proxy, trio.children.router]) child.process.kill('SIGINT');
}

/** Rotating order per round, so no target always runs first or last. */
const orderOf = (round: number): Target[] =>
  (['direct', 'proxy', 'router'] as Target[]).map((_, index, all) => all[(index + round) % 3]!);

interface LevelRun {
  result: LevelResult;
  row: string;
  /** CPU ms and requests of proxy and router over the level's rounds. */
  cpu: Record<'proxy' | 'router', { ms: number; requests: number }>;
}

/** One (mode, concurrency) level: `rounds` timed rounds per target in rotating order; its table row and result. */
async function runLevel(
  trio: Trio,
  mode: Mode,
  concurrency: number,
  rounds: number,
  seconds: number,
): Promise<LevelRun> {
  const samples: Record<Target, Sample[]> = { direct: [], proxy: [], router: [] };
  const cpu = { proxy: { ms: 0, requests: 0 }, router: { ms: 0, requests: 0 } };
  for (let round = 0; round < rounds; round++) {
    for (const target of orderOf(round)) {
      const before = target === 'direct' ? 0 : await cpuOf(trio.children[target]);
      const sample = await runLoad(trio.pools[target], mode, concurrency, seconds);
      samples[target].push(sample);
      if (target !== 'direct') {
        cpu[target].ms += (await cpuOf(trio.children[target])) - before;
        cpu[target].requests += sample.requests;
      }
    }
  }
  // CPU µs per request at this level: at saturation the throughput ratio follows the CPU ratio.
  const cpuPerRequest = (target: 'proxy' | 'router'): number =>
    (cpu[target].ms / Math.max(1, cpu[target].requests)) * 1000;
  const [direct, bare, routed] = [merge(samples.direct), merge(samples.proxy), merge(samples.router)];
  const rps = (sample: Sample): number => (sample.requests / sample.elapsedMs) * 1000;
  const fmt = (value: number): string => value.toFixed(3);
  const pair = (values: readonly number[]): string => `${fmt(percentile(values, 50))}/${fmt(percentile(values, 99))}`;
  const added = (a: readonly number[], b: readonly number[]): string =>
    `${fmt(percentile(a, 50) - percentile(b, 50))}/${fmt(percentile(a, 99) - percentile(b, 99))}`;
  const rpsRatioMedian = median(samples.router.map((sample, round) => rps(sample) / rps(samples.proxy[round]!)));
  const result: LevelResult = {
    mode,
    concurrency,
    rpsRatio: rps(routed) / rps(bare),
    rpsRatioMedian,
    cpuProxyUs: cpuPerRequest('proxy'),
    cpuRouterUs: cpuPerRequest('router'),
    ttftRouter: [percentile(routed.ttfts, 50), percentile(routed.ttfts, 99)],
    ttftDirect: [percentile(direct.ttfts, 50), percentile(direct.ttfts, 99)],
    ttftProxy: [percentile(bare.ttfts, 50), percentile(bare.ttfts, 99)],
    ttftSamples: routed.ttfts.length,
  };
  const row = [
    mode,
    concurrency,
    pair(direct.latencies),
    added(bare.latencies, direct.latencies),
    added(routed.latencies, direct.latencies),
    added(routed.latencies, bare.latencies),
    `${rps(direct).toFixed(0)}/${rps(bare).toFixed(0)}/${rps(routed).toFixed(0)}`,
    // Pooled over all rounds, and the median of the per-round ratios (a round where another job took the CPU
    // from one target moves the pooled ratio more than the median).
    `${(rps(routed) / rps(bare)).toFixed(2)} / ${rpsRatioMedian.toFixed(2)}`,
    mode === 'stream' ? fmt(mean(routed.itls) - mean(direct.itls)) : '-',
    pair(routed.overheads) + (mode === 'stream' ? `; to first byte ${pair(routed.ttfbOverheads)}` : ''),
    `${cpuPerRequest('proxy').toFixed(0)}/${cpuPerRequest('router').toFixed(0)}`,
    `${direct.errors}/${bare.errors}/${routed.errors}${routed.firstError ? ` (${routed.firstError})` : ''}`,
  ].join(' | ');
  return { result, row: `| ${row} |`, cpu };
}

const LEVEL_HEADER = [
  '| mode | conc | direct p50/p99 ms | proxy adds p50/p99 | router adds p50/p99 | router vs proxy p50/p99 | rps direct/proxy/router | router/proxy rps pooled / median of rounds | stream ITL delta ms | router self-measured overhead p50/p99 ms | CPU µs/request proxy/router | errors direct/proxy/router |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];

/** One open-loop rate: `rounds` rounds per target in rotating order; its table row. */
async function openLoopRow(trio: Trio, mode: Mode, rate: number, rounds: number, seconds: number): Promise<string> {
  const total = Math.round(rate * seconds);
  const samples: Record<Target, Sample[]> = { direct: [], proxy: [], router: [] };
  // Below saturation CPU per request moves little with the host's load: the steadiest CPU comparison.
  const cpu = { proxy: 0, router: 0 };
  for (let round = 0; round < rounds; round++) {
    for (const target of orderOf(round)) {
      const before = target === 'direct' ? 0 : await cpuOf(trio.children[target]);
      samples[target].push(await runOpenLoop(trio.pools[target], mode, rate, total));
      if (target !== 'direct') cpu[target] += (await cpuOf(trio.children[target])) - before;
    }
  }
  const cpuUs = (target: 'proxy' | 'router'): string => ((cpu[target] / (rounds * total)) * 1000).toFixed(0);
  const [direct, bare, routed] = [merge(samples.direct), merge(samples.proxy), merge(samples.router)];
  const pair = (values: readonly number[]): string =>
    `${percentile(values, 50).toFixed(3)}/${percentile(values, 99).toFixed(3)}`;
  const added = (sample: Sample, p: number): string =>
    (percentile(sample.latencies, p) - percentile(direct.latencies, p)).toFixed(3);
  const row = [
    mode,
    `${rate}/s`,
    pair(direct.latencies),
    `${added(bare, 50)}/${added(bare, 99)}`,
    `${added(routed, 50)}/${added(routed, 99)}`,
    pair(routed.overheads),
    `${cpuUs('proxy')}/${cpuUs('router')}`,
    `${direct.errors}/${bare.errors}/${routed.errors}`,
  ].join(' | ');
  return `| ${row} |`;
}

const OPEN_HEADER = [
  '| mode | rate | direct p50/p99 ms | proxy adds p50/p99 | router adds p50/p99 | router self-measured overhead p50/p99 ms | CPU µs/request proxy/router | errors direct/proxy/router |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
];

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const rounds = Number(argument('rounds') ?? (quick ? 2 : 5));
  const seconds = Number(argument('round-seconds') ?? (quick ? 0.75 : 1.5));
  const list = (name: string, fallback: string): number[] =>
    (argument(name) ?? fallback)
      .split(',')
      .map(Number)
      .filter((value) => value > 0);
  const levels = list('concurrency', '1,16,64,256');
  const ttftLevels = list('ttft-concurrency', '1,64');
  const rates = list('rates', '100,200');
  const itlMs = argument('itl-ms') ?? '1';
  const ttftItlMs = argument('ttft-itl-ms') ?? '20';
  const ttftTokens = argument('ttft-tokens') ?? '8';
  const modes = (argument('modes') ?? 'json,stream').split(',') as Mode[];
  const started = performance.now();
  console.log(
    `router overhead benchmark (${COMPILED ? 'compiled build' : 'TypeScript sources through tsx, not what ships'}): ` +
      `rounds=${rounds} of ${seconds} s per target, concurrency=${levels.join('/')}, JSON answered at once, ` +
      `stream ITL ${itlMs} ms; TTFT levels ${ttftLevels.join('/')} at ITL ${ttftItlMs} ms, ${ttftTokens} tokens, ` +
      `rounds of ${2 * seconds} s; proxy and router with ` +
      `${SEMI_SPACE_MB > 0 ? `--max-semi-space-size=${SEMI_SPACE_MB}` : "V8's default young generation"} ` +
      `and ${ROUTER_NODE_FLAGS.filter((flag) => !flag.startsWith('--max-semi-space-size=')).join(' ')}; ` +
      `load average at start ${loadAverage()}`,
  );
  const results: LevelResult[] = [];
  const cpu = { proxy: { ms: 0, requests: 0 }, router: { ms: 0, requests: 0 } };
  const jsonCpu = { proxy: 0, router: 0 };
  let idleRssMb = 0;
  let peakRss = 0;
  for (const mode of modes) {
    // JSON: the upstream answers at once, so JSON rows measure the proxy's and the router's own work. Streams: 16
    // tokens `itlMs` apart (timers; a busy-wait upstream would take a core from the processes being measured).
    const trio = await startTrio(mode === 'json' ? ['--itl-ms', '0'] : ['--itl-ms', itlMs, '--spin-ms', '0']);
    const router = trio.children.router;
    await cpuOf(router);
    idleRssMb = Math.max(idleRssMb, peakRssMb.get(router.process) ?? 0);
    peakRssMb.delete(router.process);
    for (const target of ['direct', 'proxy', 'router'] as Target[]) {
      await runLoad(trio.pools[target], mode, 16, quick ? 0.5 : 1.5);
    }
    console.log(
      mode === 'json'
        ? '\nJSON levels (upstream answers at once; rows as each level finishes)'
        : `\nStream levels (upstream ITL ${itlMs} ms, 16 tokens; saturating: TTFT here is host CPU queueing)`,
    );
    for (const line of LEVEL_HEADER) console.log(line);
    for (const concurrency of levels) {
      const level = await runLevel(trio, mode, concurrency, rounds, seconds);
      results.push(level.result);
      for (const target of ['proxy', 'router'] as const) {
        cpu[target].ms += level.cpu[target].ms;
        cpu[target].requests += level.cpu[target].requests;
        if (mode === 'json') jsonCpu[target] += level.cpu[target].ms / Math.max(1, level.cpu[target].requests);
      }
      console.log(`${level.row} load ${loadAverage()}`);
    }
    if (rates.length > 0) {
      console.log(`Moderate load, ${mode} (open-loop arrivals at a fixed rate, below saturation)`);
      for (const line of OPEN_HEADER) console.log(line);
      for (const rate of rates) console.log(await openLoopRow(trio, mode, rate, rounds, quick ? 1 : 2));
    }
    peakRss = Math.max(peakRss, peakRssMb.get(router.process) ?? 0);
    await stopTrio(trio);
  }
  for (const target of ['proxy', 'router'] as const) {
    console.log(
      `\n${target} CPU time per 1000 requests (closed-loop rounds): ${((cpu[target].ms / cpu[target].requests) * 1000).toFixed(1)} ms`,
    );
  }
  console.log(
    `router/proxy CPU ratio: ${(cpu.router.ms / cpu.router.requests / (cpu.proxy.ms / cpu.proxy.requests)).toFixed(2)}`,
  );
  // Time to first token against an upstream that decodes like a real replica (see the header).
  const ttftResults: LevelResult[] = [];
  if (modes.includes('stream') && ttftLevels.length > 0) {
    const paced = await startTrio(['--itl-ms', ttftItlMs, '--tokens', ttftTokens, '--spin-ms', '0']);
    for (const target of ['direct', 'proxy', 'router'] as Target[]) await runLoad(paced.pools[target], 'stream', 8, 1);
    console.log(`\nTTFT levels (upstream ITL ${ttftItlMs} ms, ${ttftTokens} tokens, timers only)`);
    for (const line of LEVEL_HEADER) console.log(line);
    for (const concurrency of ttftLevels) {
      const level = await runLevel(paced, 'stream', concurrency, rounds, 2 * seconds);
      ttftResults.push(level.result);
      console.log(`${level.row} load ${loadAverage()}`);
    }
    peakRss = Math.max(peakRss, peakRssMb.get(paced.children.router.process) ?? 0);
    await stopTrio(paced);
  }
  if (modes.includes('stream')) {
    console.log('\nTime to first token (request sent → first event with content; closed loop, same rounds)');
    console.log(`Stream levels (upstream ITL ${itlMs} ms): host CPU queueing, printed for reference`);
    for (const line of ttftTable(results)) console.log(line);
    if (ttftResults.length > 0) {
      console.log(`TTFT levels (upstream ITL ${ttftItlMs} ms): the issue's TTFT targets are judged here`);
      for (const line of ttftTable(ttftResults)) console.log(line);
      console.log(describeWakeup(await measureWakeup(Number(ttftItlMs))));
    }
  }
  console.log(
    `\nrouter RSS: ${idleRssMb.toFixed(0)} MB peak during start-up, peak ${peakRss.toFixed(0)} MB under load; ` +
      `load average now ${loadAverage()}; run took ${((performance.now() - started) / 60_000).toFixed(1)} min`,
  );
  console.log('\nTargets (performance issue; ratios within this run):');
  const jsonLevels = results.filter((entry) => entry.mode === 'json');
  const jsonCpuRatio = jsonCpu.proxy > 0 && jsonLevels.length > 0 ? jsonCpu.router / jsonCpu.proxy : Number.NaN;
  for (const line of verdicts([...jsonLevels, ...ttftResults], jsonCpuRatio, peakRss)) console.log(`  ${line}`);
}

if (process.argv[2] === '--role') {
  await runRole(process.argv[3] as Role);
} else {
  await main();
}
