// Start time and idle memory of the compiled router with one pool (no retrieval, governance off), against a bare
// node:http server started the same way in the same run (the runtime's floor), alternating rounds. The router runs as
// `npm start` does (dist/bin/main.js, the esbuild bundle of scripts/bundle-entry.ts) and, as a third column, from
// tsc's unbundled modules (dist/bin/cli.js), to show what the bundle buys:
//   - start: spawn → first 200 from /v1/models (wall time, and the process's own CPU time until then, which a busy
//     machine stretches far less than the wall time);
//   - RSS 3 s after that first answer, and settled idle RSS 20 s after it: V8's memory reducer runs about 8 s after
//     the last full GC of an idle process and gives back the young generation that start-up's allocations grew (with
//     `--max-semi-space-size=16`, up to 16 MiB committed), so the 3 s reading still holds start-up's garbage.
// `--parts` adds what each large package costs on its own: RSS and load time of a node process that only imports it,
// minus a bare node process's, for the packages the router loads at start and those it loads only when configured.
// Prints PASS/FAIL for the performance issue's targets (idle RSS ≤ 100 MB, start ≤ 1 s) and the load average.
//
//   npm run build && node dist/benchmarks/router-footprint.js [--rounds 3] [--parts]
// Linux only (/proc).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatTable } from '../core/text-table.ts';
import { startFakeUpstream } from '../core/testing/fake-upstream.ts';
import { loadAverage } from './router-overhead-targets.ts';
import { cpuMs, freePort, rssMb, sleep } from './process-stats.ts';
import { ROUTER_NODE_FLAGS } from '../router/node-flags.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const COMPILED = import.meta.url.endsWith('.js');
const ENTRY = COMPILED
  ? fileURLToPath(new URL('../bin/main.js', import.meta.url))
  : join(ROOT, 'dist', 'bin', 'main.js');
/** The flags `npm start` runs node with. */
const NODE_FLAGS = ROUTER_NODE_FLAGS;
const TARGET_IDLE_RSS_MB = 100;
const TARGET_START_MS = 1000;
const EARLY_MS = 3000;
const SETTLED_MS = 20_000;

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, parts: { type: 'boolean', default: false } },
});
const ROUNDS = Number(values.rounds);

/** A bare node:http server answering /v1/models: what any Node service costs before it does anything. */
const BARE_SERVER = `
const server = require('node:http').createServer((request, response) => {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end('{"object":"list","data":[]}');
});
server.listen(Number(process.argv[1]), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

type Target = 'bare' | 'router' | 'unbundled';
const TARGETS: readonly Target[] = ['bare', 'router', 'unbundled'];

/** tsc's dist/bin/cli.js run the way bin/main.ts runs it, without the bundle. */
const UNBUNDLED_ENTRY = `const { main } = await import(${JSON.stringify(new URL('cli.js', `file://${ENTRY}`).href)}); await main(['node', 'switchyard', ...process.argv.slice(1)]);`;

interface Measured {
  startMs: number;
  startCpuMs: number;
  /** 3 s after the first answer. */
  earlyRssMb: number;
  /** 20 s after the first answer, once V8's memory reducer has run. */
  idleRssMb: number;
}

async function measure(target: Target, configPath: string): Promise<Measured> {
  const port = await freePort();
  const serve = ['serve', '--config', configPath, '--port', String(port)];
  const args =
    target === 'bare'
      ? [...NODE_FLAGS, '-e', BARE_SERVER, String(port)]
      : target === 'router'
        ? [...NODE_FLAGS, ENTRY, ...serve]
        : [...NODE_FLAGS, '--input-type=module', '-e', UNBUNDLED_ENTRY, ...serve];
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`${target} exited with ${child.exitCode}`);
      const ok = await fetch(`http://127.0.0.1:${port}/v1/models`).then(
        (response) => response.ok,
        () => false,
      );
      if (ok) {
        const startMs = performance.now() - started;
        const startCpuMs = cpuMs(child.pid!);
        await sleep(EARLY_MS);
        const earlyRssMb = rssMb(child.pid!);
        await sleep(SETTLED_MS - EARLY_MS);
        return { startMs, startCpuMs, earlyRssMb, idleRssMb: rssMb(child.pid!) };
      }
      await sleep(10);
    }
    throw new Error(`${target} did not answer /v1/models within 120 s`);
  } finally {
    const exited = new Promise<void>((resolve) =>
      child.exitCode !== null ? resolve() : child.once('exit', () => resolve()),
    );
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** Packages the router loads at start, and the large ones it loads only when configured. */
const PARTS: ReadonlyArray<readonly [string, string]> = [
  ['express', 'at start (HTTP app: everything but the two generation routes)'],
  ['undici', 'at start (upstream connections)'],
  ['zod', 'at start (config and request schemas)'],
  ['ajv', 'sources only (the build precompiles the request checks)'],
  ['prom-client', 'at start (/metrics)'],
  ['pino', 'at start (request log)'],
  ['yaml', 'at start (config file, GPU prices)'],
  ['@opentelemetry/api', 'at start (trace context)'],
  ['openai', 'hosted pools only'],
  ['redis', 'governance with Redis only'],
  ['@opentelemetry/sdk-trace-base', 'governance tracing only'],
  ['tiktoken', 'governance token counting / simulator only'],
  ['better-sqlite3', 'keys or the Batch API only'],
  ['@huggingface/transformers', 'retrieval / semantic governance only'],
];

async function partCost(name: string | undefined): Promise<{ rssMb: number; ms: number }> {
  const script = name
    ? `const t = performance.now(); import(${JSON.stringify(name)}).then(() => { const ms = performance.now() - t; setTimeout(() => { console.log(JSON.stringify({ rss: process.memoryUsage.rss(), ms })); }, 300); });`
    : `setTimeout(() => console.log(JSON.stringify({ rss: process.memoryUsage.rss(), ms: 0 })), 300);`;
  const child = spawn(process.execPath, [...NODE_FLAGS, '--input-type=module', '-e', script], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout!.on('data', (piece: Buffer) => (output += piece.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  const parsed = JSON.parse(output) as { rss: number; ms: number };
  return { rssMb: parsed.rss / 1048576, ms: parsed.ms };
}

async function main(): Promise<void> {
  if (!COMPILED)
    console.log(
      '(run from the sources: the router measured is still the compiled build in dist/; run `npm run build` first)',
    );
  const folder = mkdtempSync(join(tmpdir(), 'switchyard-footprint-'));
  const upstream = await startFakeUpstream({ tokens: 16 });
  try {
    const configPath = join(folder, 'switchyard.yaml');
    writeFileSync(
      configPath,
      [
        'pools:',
        '  - { name: pool, kind: vllm, model: llama-3.1-8b, gpu: h100, backends: [{ url: "' + upstream.url + '" }] }',
        'models:',
        '  - { name: llama-3.1-8b, route: [pool] }',
        '',
      ].join('\n'),
    );
    console.log(
      `router footprint: one vLLM pool of one backend, governance and retrieval off; ${ROUNDS} alternating rounds; load average ${loadAverage()}`,
    );
    const results: Record<Target, Measured[]> = { bare: [], router: [], unbundled: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of round % 2 === 0 ? TARGETS : [...TARGETS].reverse()) {
        results[target].push(await measure(target, configPath));
      }
    }
    const row = (name: string, pick: (entry: Measured) => number): Array<string | number> => {
      const bare = median(results.bare.map(pick));
      const router = median(results.router.map(pick));
      return [
        name,
        bare.toFixed(0),
        router.toFixed(0),
        (router - bare).toFixed(0),
        `${Math.min(...results.router.map(pick)).toFixed(0)}–${Math.max(...results.router.map(pick)).toFixed(0)}`,
        median(results.unbundled.map(pick)).toFixed(0),
      ];
    };
    console.log(
      formatTable(
        ['metric (median of rounds)', 'bare node:http', 'router', 'router − bare', 'router range', 'router unbundled'],
        [
          row('start to first /v1/models, wall ms', (entry) => entry.startMs),
          row('start CPU ms', (entry) => entry.startCpuMs),
          row('RSS 3 s after start, MB', (entry) => entry.earlyRssMb),
          row('idle RSS (20 s, settled), MB', (entry) => entry.idleRssMb),
        ],
      ),
    );
    if (values.parts) {
      const floor = await partCost(undefined);
      const rows: Array<Array<string | number>> = [];
      for (const [name, when] of PARTS) {
        const cost = await partCost(name);
        rows.push([name, when, (cost.rssMb - floor.rssMb).toFixed(1), cost.ms.toFixed(0)]);
      }
      console.log(
        `\nWhat each large package costs on its own (node importing only it, minus bare node's ${floor.rssMb.toFixed(0)} MB):`,
      );
      console.log(formatTable(['package', 'loaded', 'RSS MB', 'import ms'], rows));
    }
    const idle = median(results.router.map((entry) => entry.idleRssMb));
    const early = median(results.router.map((entry) => entry.earlyRssMb));
    const start = median(results.router.map((entry) => entry.startMs));
    console.log(`\nTargets (load average now ${loadAverage()}):`);
    console.log(
      `  ${idle <= TARGET_IDLE_RSS_MB ? 'PASS' : 'FAIL'}  idle RSS (settled) ≤ ${TARGET_IDLE_RSS_MB} MB: ${idle.toFixed(0)} MB (bare node:http ${median(results.bare.map((entry) => entry.idleRssMb)).toFixed(0)} MB)`,
    );
    console.log(
      `  ${early <= TARGET_IDLE_RSS_MB ? 'PASS' : 'FAIL'}  RSS 3 s after start ≤ ${TARGET_IDLE_RSS_MB} MB: ${early.toFixed(0)} MB (bare node:http ${median(results.bare.map((entry) => entry.earlyRssMb)).toFixed(0)} MB)`,
    );
    console.log(
      `  ${start <= TARGET_START_MS ? 'PASS' : 'FAIL'}  start to first /v1/models ≤ ${TARGET_START_MS} ms: ${start.toFixed(0)} ms (bare node:http ${median(results.bare.map((entry) => entry.startMs)).toFixed(0)} ms; wall time, stretched by a busy host)`,
    );
  } finally {
    await upstream.close();
    rmSync(folder, { recursive: true, force: true });
  }
}

await main();
