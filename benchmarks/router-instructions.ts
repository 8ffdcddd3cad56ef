// Instructions per JSON request, router against the bare proxy: the same processes as router-overhead.ts (its
// `--role` children: the fake upstream, the bare undici pass-through proxy and the Switchyard router, with the router's
// V8 flags), but the proxy or the router runs under valgrind's callgrind, which counts the instructions its main
// thread executes while a fixed number of requests goes through it. On a shared 2-core VM timed CPU per request moves
// by up to 2× between runs of one build; the main thread's instruction count repeats within ~1–2 %, so a change of a
// few percent in the router's own work is visible here before any timed run could show it.
//
//   npm run build && node dist/benchmarks/router-instructions.js [--requests 1000] [--warmup 3000] [--rounds 2]
//       [--concurrency 16] [--targets proxy,router,router-no-logs]
//
// Needs valgrind (Debian: `apt-get install valgrind`). Under callgrind a process runs ~50–100× slower: a run of the
// defaults (3 targets × 2 rounds) takes ~7 min. The warm-up runs with instrumentation off (callgrind's --instr-atstart=no) until V8 has
// optimised the hot path; counting starts with `callgrind_control -i on` and ends with a dump. The main thread's count
// is the request path; V8's compiler and GC helper threads are printed apart (compilation still running shows there).
// Instructions are not time (a cache miss or a syscall's kernel work is not an instruction here), so the ratio is the
// router's own work against the proxy's, not the CPU-time ratio router-overhead.ts judges.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { ROUTER_NODE_FLAGS } from '../router/node-flags.ts';

/** `router-no-logs`: the router with both per-request logs off (`server.requestLog`, `requestLog.enabled`). */
type Target = 'proxy' | 'router' | 'router-no-logs';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : (process.argv[index + 1] ?? fallback);
}

const REQUESTS = Number(argument('requests', '1000'));
const WARMUP = Number(argument('warmup', '3000'));
const ROUNDS = Number(argument('rounds', '2'));
const CONCURRENCY = Number(argument('concurrency', '16'));
const TARGETS = argument('targets', 'proxy,router,router-no-logs').split(',') as Target[];
const COMPILED = import.meta.url.endsWith('.js');
/** The processes router-overhead.ts measures: its `--role` entry, compiled or through tsx like this file. */
const ROLES = fileURLToPath(new URL(`./router-overhead.${COMPILED ? 'js' : 'ts'}`, import.meta.url));

const BODY = JSON.stringify({
  model: 'llama-3.1-8b',
  messages: [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'Write one short sentence about railway switchyards.' },
  ],
  max_tokens: 16,
});

interface Child {
  process: ChildProcess;
  port: number;
}

function spawnRole(role: 'upstream' | 'proxy' | 'router', extra: string[], callgrindDir?: string): Promise<Child> {
  const node = [...(COMPILED ? [] : ['--import', 'tsx']), ...(role === 'upstream' ? [] : ROUTER_NODE_FLAGS)];
  const valgrind = callgrindDir
    ? {
        execPath: 'valgrind',
        execArgv: [
          '--tool=callgrind',
          '--instr-atstart=no',
          '--separate-threads=yes',
          `--callgrind-out-file=${join(callgrindDir, 'callgrind.%p')}`,
          '--log-file=/dev/null',
          process.execPath,
          ...node,
        ],
      }
    : { execArgv: node };
  const child = fork(ROLES, ['--role', role, ...extra], { ...valgrind, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (message: { port?: number }) =>
      message.port ? resolve({ process: child, port: message.port }) : reject(new Error('no port')),
    );
    child.once('exit', (code) => reject(new Error(`${role} exited with ${code}`)));
  });
}

async function load(pool: Pool, requests: number): Promise<void> {
  let left = requests;
  const worker = async (): Promise<void> => {
    while (left-- > 0) {
      const response = await pool.request({
        path: '/v1/chat/completions',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: BODY,
      });
      await response.body.text();
      if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** Instructions per request of the target's main thread and of its other threads together. */
async function countTarget(target: Target, upstreamUrl: string): Promise<{ main: number; helpers: number }> {
  const directory = mkdtempSync(join(tmpdir(), 'switchyard-callgrind-'));
  const role = target === 'proxy' ? 'proxy' : 'router';
  const extra = target === 'router-no-logs' ? ['--request-logs', 'off'] : [];
  const child = await spawnRole(role, ['--upstream', upstreamUrl, ...extra], directory);
  const pid = String(child.process.pid);
  const pool = new Pool(`http://127.0.0.1:${child.port}`, { connections: CONCURRENCY });
  try {
    await load(pool, WARMUP);
    execFileSync('callgrind_control', ['--instr=on', pid], { stdio: 'ignore' });
    execFileSync('callgrind_control', ['--zero', pid], { stdio: 'ignore' });
    await load(pool, REQUESTS);
    execFileSync('callgrind_control', ['--dump', pid], { stdio: 'ignore' });
    // One file per thread of the dump: callgrind.<pid>.1-<thread>; thread 01 is the main (JavaScript) thread.
    let main = 0;
    let helpers = 0;
    for (const name of readdirSync(directory)) {
      const match = /^callgrind\.\d+\.1-(\d+)$/.exec(name);
      if (!match) continue;
      const total = /^summary: (\d+)/m.exec(readFileSync(join(directory, name), 'utf8'));
      const instructions = Number(total?.[1] ?? 0);
      if (match[1] === '01') main = instructions;
      else helpers += instructions;
    }
    if (main === 0) throw new Error('callgrind wrote no count for the main thread');
    return { main: main / REQUESTS, helpers: helpers / REQUESTS };
  } finally {
    await pool.close();
    child.process.kill('SIGKILL');
    rmSync(directory, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  } catch {
    console.error('router-instructions: valgrind is not installed (Debian: apt-get install valgrind)');
    process.exit(2);
  }
  console.log(
    `router instructions benchmark (${COMPILED ? 'compiled build' : 'TypeScript sources through tsx'}): ` +
      `${REQUESTS} JSON requests counted after ${WARMUP} uncounted, concurrency ${CONCURRENCY}, ${ROUNDS} rounds ` +
      `alternating ${TARGETS.join('/')}, node ${ROUTER_NODE_FLAGS.join(' ')}`,
  );
  const upstream = await spawnRole('upstream', ['--itl-ms', '0']);
  const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
  const counts: Record<Target, number[]> = { proxy: [], router: [], 'router-no-logs': [] };
  console.log('| round | target | main thread instructions/request | other threads /request |');
  console.log('| --- | --- | --- | --- |');
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const target of TARGETS) {
        const { main, helpers } = await countTarget(target, upstreamUrl);
        counts[target].push(main);
        console.log(`| ${round} | ${target} | ${Math.round(main)} | ${Math.round(helpers)} |`);
      }
    }
  } finally {
    upstream.process.kill();
  }
  const least = (values: number[]): number => Math.min(...values);
  const spread = (values: number[]): string =>
    `${(((Math.max(...values) - least(values)) / least(values)) * 100).toFixed(1)} %`;
  const proxy = counts.proxy;
  if (proxy.length === 0) return;
  console.log('');
  for (const target of ['router', 'router-no-logs'] as const) {
    const router = counts[target];
    if (router.length === 0) continue;
    console.log(
      `${target}/proxy main-thread instructions per JSON request: ${(least(router) / least(proxy)).toFixed(2)} ` +
        `(least of ${ROUNDS} rounds each: ${target} ${Math.round(least(router))}, proxy ${Math.round(least(proxy))}; ` +
        `spread between rounds ${target} ${spread(router)}, proxy ${spread(proxy)})`,
    );
  }
}

await main();
