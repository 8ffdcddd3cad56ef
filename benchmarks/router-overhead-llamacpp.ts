// Router overhead against a real engine: one llama.cpp llama-server replica (the tiny random-weight model, started
// through the product's local driver) called directly and through the Switchyard router (its own process, a
// `kind: llamacpp` pool scraping the replica's /metrics and /slots), in alternating rounds of the same load.
//
//   npx tsx benchmarks/router-overhead-llamacpp.ts [--rounds 5] [--requests 40] [--concurrency 1,4] [--tokens 32]
//
// Prints per (mode, concurrency): p50/p99 latency direct and through the router, the p50 the router adds, and the
// throughput ratio router/direct (1.00 = no cost). Needs `npx switchyard engine build llamacpp` first.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { ROUTER_NODE_FLAGS } from '../router/node-flags.ts';

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

const ROUNDS = Number(argument('rounds') ?? 5);
const REQUESTS = Number(argument('requests') ?? 40);
const CONCURRENCY = (argument('concurrency') ?? '1,4').split(',').map(Number);
const TOKENS = Number(argument('tokens') ?? 32);
const PARALLEL = Math.max(...CONCURRENCY);

async function routerRole(upstream: string): Promise<void> {
  const { startRouter } = await import('../router/server.ts');
  const { validateConfig } = await import('../router/config/load.ts');
  const config = validateConfig(
    {
      pools: [{ name: 'llama', kind: 'llamacpp', backends: [{ url: upstream }] }],
      models: [{ name: 'tiny-llama', route: ['llama'] }],
      // A CPU-saturated 2-core host delays scrapes; a generous staleness limit keeps this about overhead.
      scheduling: { scrapeIntervalMs: 100, staleAfterMs: 5_000 },
    },
    'bench',
    {},
  );
  const router = await startRouter(config, { host: '127.0.0.1', port: 0, processMetrics: false });
  process.once('SIGINT', () => void router.close().then(() => process.exit(0)));
  process.send?.({ port: router.port });
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

interface RoundResult {
  latencies: number[];
  seconds: number;
  failures: number;
}

async function runRound(origin: string, stream: boolean, concurrency: number): Promise<RoundResult> {
  const pool = new Pool(origin, { connections: concurrency });
  const latencies: number[] = [];
  let failures = 0;
  let next = 0;
  const body = JSON.stringify({
    model: 'tiny-llama',
    messages: [{ role: 'user', content: 'Tell me a story about a lighthouse keeper.' }],
    max_tokens: TOKENS,
    ignore_eos: true,
    temperature: 0,
    stream,
    ...(stream ? { stream_options: { include_usage: true } } : {}),
  });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < REQUESTS) {
        next++;
        const t0 = performance.now();
        try {
          const response = await pool.request({
            path: '/v1/chat/completions',
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
          });
          const text = await response.body.text();
          // A stream must end with [DONE]; an engine error event or any error status counts as a failure.
          if (response.statusCode !== 200 || (stream && !text.includes('data: [DONE]')) || text.includes('"error"'))
            failures++;
          latencies.push(performance.now() - t0);
        } catch {
          // llama-server closes kept-alive connections on its own schedule; a request caught by that fails here.
          failures++;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return { latencies, seconds, failures };
}

async function main(): Promise<void> {
  if (process.argv[2] === '--role-router') return routerRole(process.argv[3]!);
  const { llamaServerForTests, startLlamaCppReplicas } = await import('../deploy/engines/llamacpp/testing.ts');
  if (!llamaServerForTests()) process.exit(1);
  const replicas = await startLlamaCppReplicas(1, { parallel: PARALLEL, ctxSize: 512 * PARALLEL, threads: 1 });
  const direct = replicas.urls[0]!;
  let child: ChildProcess | undefined;
  try {
    child = fork(fileURLToPath(import.meta.url), ['--role-router', direct], {
      execArgv: ['--import', 'tsx', ...ROUTER_NODE_FLAGS],
    });
    const port = await new Promise<number>((resolve, reject) => {
      child!.once('message', (message: { port: number }) => resolve(message.port));
      child!.once('exit', (code) => reject(new Error(`router exited (${code})`)));
    });
    const router = `http://127.0.0.1:${port}`;
    console.log(
      `llama-server ${direct} (tiny model, --parallel ${PARALLEL}, 1 thread) vs router ${router}; ${ROUNDS} alternating rounds × ${REQUESTS} requests, ${TOKENS} tokens each`,
    );
    // Warm-up: connections, the engine's first batches, the router's JIT.
    await runRound(direct, false, 1);
    await runRound(router, false, 1);
    console.log(
      '| mode | conc | direct p50 ms | router p50 ms | added p50 ms | direct p99 | router p99 | req/s direct | req/s router | ratio | failures d/r |',
    );
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const stream of [false, true]) {
      for (const concurrency of CONCURRENCY) {
        const results = { direct: [] as RoundResult[], router: [] as RoundResult[] };
        for (let round = 0; round < ROUNDS; round++) {
          // Alternate which goes first so drift in the machine's load hits both alike.
          const order = round % 2 === 0 ? (['direct', 'router'] as const) : (['router', 'direct'] as const);
          for (const target of order)
            results[target].push(await runRound(target === 'direct' ? direct : router, stream, concurrency));
        }
        const all = (list: RoundResult[]): number[] => list.flatMap((result) => result.latencies);
        const rate = (list: RoundResult[]): number =>
          list.reduce((sum, r) => sum + r.latencies.length, 0) / list.reduce((sum, r) => sum + r.seconds, 0);
        const fails = (list: RoundResult[]): number => list.reduce((sum, r) => sum + r.failures, 0);
        const d50 = percentile(all(results.direct), 50);
        const r50 = percentile(all(results.router), 50);
        console.log(
          `| ${stream ? 'stream' : 'json'} | ${concurrency} | ${d50.toFixed(1)} | ${r50.toFixed(1)} | ${(r50 - d50).toFixed(2)} | ` +
            `${percentile(all(results.direct), 99).toFixed(1)} | ${percentile(all(results.router), 99).toFixed(1)} | ` +
            `${rate(results.direct).toFixed(1)} | ${rate(results.router).toFixed(1)} | ${(rate(results.router) / rate(results.direct)).toFixed(3)}× | ` +
            `${fails(results.direct)}/${fails(results.router)} |`,
        );
      }
    }
  } finally {
    if (child && child.exitCode === null) {
      child.kill('SIGINT');
      await new Promise((resolve) => child!.once('exit', resolve));
    }
    await replicas.close();
  }
}

await main();
