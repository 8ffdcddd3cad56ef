// Is the load generator the bottleneck? Two measurements against the fake upstream running in its own process:
//
// 1. Overhead: closed-loop throughput of `switchyard bench` (SSE parsing, timestamps, records) vs a bare undici loop
//    that only reads the bodies, same concurrency, same upstream (TTFT = ITL = 0) → ratio generator/baseline.
// 2. Timing error vs request rate: open-loop Poisson ladder against an upstream with fixed TTFT/ITL; per rate, the
//    send lag (actual − scheduled send) and the receive delay (client timestamp of a chunk − the server's wall-clock
//    write time, both processes on one machine) → the first rate at which p50 / p99 timing error exceeds 1 ms.
//
// Usage: npx tsx benchmarks/loadgen-overhead.ts [--quick]
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { BenchConfig } from './loadgen/config.ts';
import { endpointUrl, requestBody } from './loadgen/client.ts';
import { percentile } from './loadgen/metrics.ts';
import { runBenchmark } from './loadgen/runner.ts';

const quick = process.argv.includes('--quick');
const FAKE = fileURLToPath(new URL('./loadgen/fake-upstream-main.ts', import.meta.url));

async function startUpstream(ttftMs: number, itlMs: number): Promise<{ baseUrl: string; child: ChildProcess }> {
  const child = fork(FAKE, ['--ttft', String(ttftMs), '--itl', String(itlMs)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('fake upstream did not start in 20 s')), 20_000);
    child.stdout?.once('data', (data: Buffer) => {
      clearTimeout(timer);
      resolve((JSON.parse(data.toString()) as { baseUrl: string }).baseUrl);
    });
  });
  return { baseUrl, child };
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

const sorted = (values: number[]) => [...values].sort((a, b) => a - b);

async function overhead(
  baseUrl: string,
  concurrency: number,
  requests: number,
): Promise<{ generator: number; baseline: number }[]> {
  const body = JSON.stringify(
    requestBody({
      model: 'fake',
      endpoint: 'chat',
      stream: true,
      ignoreEos: true,
      prompt: 'hello world',
      maxTokens: 8,
    }),
  );
  const url = endpointUrl(baseUrl, 'chat');
  const baselineRun = async () => {
    const dispatcher = new Agent({ keepAliveTimeout: 60_000 });
    let issued = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (issued < requests) {
          issued += 1;
          const response = await request(url, {
            method: 'POST',
            dispatcher,
            headers: { 'content-type': 'application/json' },
            body,
          });
          for await (const _chunk of response.body) void _chunk;
        }
      }),
    );
    const rate = requests / ((performance.now() - started) / 1000);
    await dispatcher.close();
    return rate;
  };
  const generatorRun = async () => {
    const result = await runBenchmark(
      BenchConfig.parse({
        baseUrl,
        model: 'fake',
        mode: { kind: 'closed', concurrency },
        workload: { kind: 'synthetic', input: { kind: 'fixed', value: 2 }, output: { kind: 'fixed', value: 8 } },
        requests,
      }),
    );
    return result.runs[0]?.summary.requestThroughput ?? 0;
  };
  // Warm both paths, then alternate them in pairs so machine noise (a shared 2-core box) hits both alike; the ratio
  // is the median over pairs.
  await baselineRun();
  await generatorRun();
  const pairs: { generator: number; baseline: number }[] = [];
  for (let round = 0; round < (quick ? 3 : 7); round += 1) {
    const baseline = await baselineRun();
    const generator = await generatorRun();
    pairs.push({ baseline, generator });
  }
  return pairs;
}

interface TimingRow {
  rate: number;
  achieved: number;
  sendLagP50: number;
  sendLagP99: number;
  receiveP50: number;
  receiveP99: number;
}

async function timingAt(baseUrl: string, rate: number): Promise<TimingRow> {
  const receiveDelays: number[] = [];
  const requests = Math.min(quick ? 200 : 600, Math.max(40, Math.round(rate * (quick ? 1.5 : 3))));
  const result = await runBenchmark(
    BenchConfig.parse({
      baseUrl,
      model: 'fake',
      mode: { kind: 'open', rate, arrival: 'poisson' },
      workload: { kind: 'synthetic', input: { kind: 'fixed', value: 16 }, output: { kind: 'fixed', value: 8 } },
      requests,
      warmupRequests: 10,
      seed: 1,
    }),
    {
      onChunk: (chunk, at) => {
        const wall = (chunk as { x_server_wall?: number }).x_server_wall;
        if (wall !== undefined) receiveDelays.push(performance.timeOrigin + at - wall);
      },
    },
  );
  const run = result.runs[0];
  const records = run?.records ?? [];
  const lags = sorted(records.map((record) => record.startMs - (record.scheduledMs ?? record.startMs)));
  const starts = records.map((record) => record.startMs);
  const receive = sorted(receiveDelays.slice(receiveDelays.length - records.length * 8));
  return {
    rate,
    achieved: (records.length - 1) / ((Math.max(...starts) - Math.min(...starts)) / 1000),
    sendLagP50: percentile(lags, 50),
    sendLagP99: percentile(lags, 99),
    receiveP50: percentile(receive, 50),
    receiveP99: percentile(receive, 99),
  };
}

const fast = await startUpstream(0, 0);
try {
  const concurrency = 16;
  const pairs = await overhead(fast.baseUrl, concurrency, quick ? 300 : 1000);
  console.log(`overhead (closed loop, concurrency ${concurrency}, 8-token streams, TTFT = ITL = 0), req/s per pair:`);
  for (const pair of pairs)
    console.log(
      `  bare undici loop ${pair.baseline.toFixed(0).padStart(5)}   switchyard bench ${pair.generator.toFixed(0).padStart(5)}   ratio ${(pair.generator / pair.baseline).toFixed(2)}`,
    );
  const ratio = percentile(sorted(pairs.map((pair) => pair.generator / pair.baseline)), 50);
  console.log(`  median ratio generator/baseline: ${ratio.toFixed(2)}`);
} finally {
  await stop(fast.child);
}

const timed = await startUpstream(20, 5);
try {
  const rates = quick ? [25, 100, 400] : [25, 50, 100, 200, 400, 800, 1600];
  const rows: TimingRow[] = [];
  for (const rate of rates) rows.push(await timingAt(timed.baseUrl, rate));
  console.log('\ntiming error vs open-loop rate (upstream TTFT 20 ms, ITL 5 ms, 8 tokens; ms):');
  console.log('  rate  achieved  send-lag p50  p99  receive p50  p99');
  for (const row of rows) {
    console.log(
      `  ${String(row.rate).padStart(4)}  ${row.achieved.toFixed(0).padStart(8)}  ${row.sendLagP50.toFixed(2).padStart(12)}  ${row.sendLagP99.toFixed(2).padStart(5)}  ${row.receiveP50.toFixed(2).padStart(11)}  ${row.receiveP99.toFixed(2).padStart(5)}`,
    );
  }
  const error = (row: TimingRow, which: 'p50' | 'p99') =>
    Math.max(which === 'p50' ? row.sendLagP50 : row.sendLagP99, which === 'p50' ? row.receiveP50 : row.receiveP99);
  for (const which of ['p50', 'p99'] as const) {
    const first = rows.find((row) => error(row, which) > 1);
    console.log(
      first
        ? `  ${which} timing error first exceeds 1 ms at ${first.rate} req/s (${error(first, which).toFixed(2)} ms); ratio to the lowest rate's error: ${(error(first, which) / Math.max(1e-3, error(rows[0] as TimingRow, which))).toFixed(1)}×`
        : `  ${which} timing error stays ≤ 1 ms up to ${rates.at(-1)} req/s`,
    );
  }
} finally {
  await stop(timed.child);
}
