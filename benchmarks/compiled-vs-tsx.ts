// The compiled build (`npm run build`, `node dist/bin/main.js`: what `npm start` and the router image run) against the
// TypeScript sources run through tsx (`bin/switchyard.js` with SWITCHYARD_FROM_SOURCE=1), the same `switchyard serve`
// command line in its own process, alternating in one run:
//   - start: spawn → first 200 from /v1/models (wall time, and the process's CPU time until then, which a busy
//     machine stretches far less); idle RSS 3 s later (the embedded default, and a one-pool config);
//   - load: non-streaming chat completions through the one-pool router to a fast fake upstream (its own process),
//     closed loop at a fixed concurrency: peak RSS while loaded and router CPU (user + system) per request.
// Ratios are compiled / tsx (below 1: the build is cheaper). Linux only (/proc).
// Usage: npx tsx benchmarks/compiled-vs-tsx.ts [--rounds 3] [--requests 3000] [--concurrency 16]
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { formatTable } from '../core/text-table.ts';
import { cpuMs, freePort, rssMb, sleep } from './process-stats.ts';
import { ROUTER_NODE_FLAGS } from '../router/node-flags.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const COMPILED_ENTRY = join(ROOT, 'dist', 'bin', 'main.js');
const SOURCE_ENTRY = join(ROOT, 'bin', 'switchyard.js');

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    requests: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '16' },
    upstream: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(values.rounds);
const REQUESTS = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);

type Mode = 'compiled' | 'tsx';
interface Running {
  child: ChildProcess;
  url: string;
  startMs: number;
  /** CPU the process used until it answered: the start cost, independent of how busy the machine is. */
  startCpuMs: number;
}

/** Every serve process not yet stopped: killed in main's finally, so a failed round leaves nothing running. */
const live = new Set<ChildProcess>();

async function startServe(mode: Mode, args: readonly string[], cwd: string): Promise<Running> {
  const port = await freePort();
  const entry = mode === 'compiled' ? COMPILED_ENTRY : SOURCE_ENTRY;
  const started = performance.now();
  const child = spawn(process.execPath, [...ROUTER_NODE_FLAGS, entry, 'serve', ...args, '--port', String(port)], {
    cwd,
    env: { ...process.env, SWITCHYARD_FROM_SOURCE: mode === 'tsx' ? '1' : '0' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${mode} serve exited with ${child.exitCode}`);
    const ok = await fetch(`${url}/v1/models`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return { child, url, startMs: performance.now() - started, startCpuMs: cpuMs(child.pid!) };
    await sleep(20);
  }
  child.kill('SIGKILL');
  throw new Error(`${mode} serve did not answer /v1/models within 120 s`);
}

async function stop(running: Running): Promise<void> {
  const exited = new Promise<void>((resolve) => running.child.once('exit', () => resolve()));
  running.child.kill('SIGTERM');
  const timer = setTimeout(() => running.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** The router tests' fake vLLM (instant answers, a vLLM-style /metrics page) in its own process: this file, --upstream. */
async function startUpstream(): Promise<{ child: ChildProcess; baseUrl: string }> {
  const child = fork(fileURLToPath(import.meta.url), ['--upstream'], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const baseUrl = await new Promise<string>((resolve, reject) => {
    child.once('message', (message: { url: string }) => resolve(message.url));
    child.once('exit', (code) => reject(new Error(`fake upstream exited with ${code}`)));
  });
  return { child, baseUrl };
}

async function serveUpstream(): Promise<void> {
  const { startFakeUpstream } = await import('../core/testing/fake-upstream.ts');
  const upstream = await startFakeUpstream({ tokens: 16 });
  process.on('disconnect', () => void upstream.close().then(() => process.exit(0)));
  process.send?.({ url: upstream.url });
}

/** Closed loop of `requests` non-streaming chat completions; returns peak RSS and CPU per request of the router. */
async function load(
  running: Running,
  requests: number,
): Promise<{ peakRssMb: number; cpuMsPerRequest: number; failures: number; firstFailure: string }> {
  const pid = running.child.pid!;
  const pool = new Pool(running.url, { connections: CONCURRENCY, pipelining: 1 });
  const body = JSON.stringify({
    model: 'llama-3.1-8b',
    messages: [{ role: 'user', content: 'Say hello in five words.' }],
    max_tokens: 16,
  });
  let firstFailure = '';
  const send = async (): Promise<boolean> => {
    const response = await pool.request({
      path: '/v1/chat/completions',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) firstFailure ||= `${response.statusCode} ${text.slice(0, 200)}`;
    return response.statusCode === 200;
  };
  for (let index = 0; index < 200; index += 1) await send(); // warm-up: JIT, connections, first scrapes
  let peak = rssMb(pid);
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 50);
  const cpuBefore = cpuMs(pid);
  let next = 0;
  let failures = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < requests) {
        next += 1;
        if (!(await send())) failures += 1;
      }
    }),
  );
  const cpu = cpuMs(pid) - cpuBefore;
  clearInterval(sampler);
  peak = Math.max(peak, rssMb(pid));
  await pool.close();
  return { peakRssMb: peak, cpuMsPerRequest: cpu / requests, failures, firstFailure };
}

const median = (numbers: readonly number[]): number => {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

async function main(): Promise<void> {
  if (!existsSync(COMPILED_ENTRY)) throw new Error('no build in dist/: run `npm run build` first');
  const work = mkdtempSync(join(tmpdir(), 'switchyard-compiled-vs-tsx-'));
  const upstream = await startUpstream();
  const config = join(work, 'one-pool.yaml');
  writeFileSync(
    config,
    [
      'pools:',
      '  - name: pool',
      '    kind: vllm',
      '    model: llama-3.1-8b',
      '    gpu: h100',
      '    backends:',
      `      - url: ${upstream.baseUrl}`,
      'models:',
      '  - name: llama-3.1-8b',
      '    route: [pool]',
      'scheduling:',
      '  scrapeIntervalMs: 100',
      '  staleAfterMs: 5000',
      '',
    ].join('\n'),
  );
  const metrics = [
    'embedded start ms',
    'embedded start CPU ms',
    'embedded idle RSS MB',
    'one-pool start ms',
    'one-pool start CPU ms',
    'one-pool idle RSS MB',
    'RSS under load MB',
    'CPU ms per request',
  ] as const;
  const samples: Record<Mode, Record<(typeof metrics)[number], number[]>> = {
    compiled: Object.fromEntries(metrics.map((metric) => [metric, []])) as unknown as Record<
      (typeof metrics)[number],
      number[]
    >,
    tsx: Object.fromEntries(metrics.map((metric) => [metric, []])) as unknown as Record<
      (typeof metrics)[number],
      number[]
    >,
  };
  try {
    for (let round = 1; round <= ROUNDS; round += 1) {
      const order: Mode[] = round % 2 === 1 ? ['tsx', 'compiled'] : ['compiled', 'tsx'];
      for (const mode of order) {
        const cwd = mkdtempSync(join(work, `${mode}-`));
        const embedded = await startServe(mode, [], cwd);
        await sleep(3_000);
        samples[mode]['embedded start ms'].push(embedded.startMs);
        samples[mode]['embedded start CPU ms'].push(embedded.startCpuMs);
        samples[mode]['embedded idle RSS MB'].push(rssMb(embedded.child.pid!));
        await stop(embedded);

        const onePool = await startServe(mode, ['--config', config], cwd);
        await sleep(3_000);
        samples[mode]['one-pool start ms'].push(onePool.startMs);
        samples[mode]['one-pool start CPU ms'].push(onePool.startCpuMs);
        samples[mode]['one-pool idle RSS MB'].push(rssMb(onePool.child.pid!));
        const loaded = await load(onePool, REQUESTS);
        if (loaded.failures > 0)
          throw new Error(`${mode}: ${loaded.failures} of ${REQUESTS} requests failed (first: ${loaded.firstFailure})`);
        samples[mode]['RSS under load MB'].push(loaded.peakRssMb);
        samples[mode]['CPU ms per request'].push(loaded.cpuMsPerRequest);
        await stop(onePool);
        console.error(
          `round ${round} ${mode}: start ${embedded.startMs.toFixed(0)} / ${onePool.startMs.toFixed(0)} ms, CPU ${loaded.cpuMsPerRequest.toFixed(3)} ms/request`,
        );
      }
    }
  } finally {
    for (const child of live) child.kill('SIGKILL');
    upstream.child.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
  }
  const rows = metrics.map((metric) => {
    const compiled = median(samples.compiled[metric]);
    const tsx = median(samples.tsx[metric]);
    const digits = metric.startsWith('CPU') ? 3 : 0;
    const range = (mode: Mode): string =>
      `${Math.min(...samples[mode][metric]).toFixed(digits)}–${Math.max(...samples[mode][metric]).toFixed(digits)}`;
    return [
      metric,
      tsx.toFixed(digits),
      compiled.toFixed(digits),
      (compiled / tsx).toFixed(2),
      range('tsx'),
      range('compiled'),
    ];
  });
  console.log(
    `compiled build vs tsx, medians of ${ROUNDS} alternating rounds; load: ${REQUESTS} requests at concurrency ${CONCURRENCY}`,
  );
  console.log(formatTable(['metric', 'tsx', 'compiled', 'compiled/tsx', 'tsx range', 'compiled range'], rows));
}

if (values.upstream) await serveUpstream();
else await main();
