// Batch priority benchmark: interactive TTFT on a small simulated pool (one Llama 3.1 8B on an A10G) without a batch,
// then with a large batch submitted through the Batch API under three admission policies. Same seeded Poisson
// arrival schedule every run, fresh replica per run, TTFT in simulated ms read from the simulator's `x-sim-timings`
// SSE comments (host load does not distort them). Prints TTFT p50/p99 and the p99 ratio against the no-batch
// baseline measured in the same run, plus how much batch work got done during and after the interactive window.
//   npx tsx benchmarks/batch-priority.ts [--quick] [--speed 4] [--requests 150] [--rate 1.5]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { startSimReplica, type SimReplica } from '../models/sim/index.ts';
import { pseudoText } from '../models/sim/tokenizer.ts';
import type { BatchConfigInput } from '../router/config/batch.ts';
import { replicaPool, serveBatchApi } from '../router/batch/testing.ts';
import { seededRandom as mulberry32 } from '../models/random.ts';

const argv = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const index = argv.indexOf(`--${name}`);
  return index >= 0 ? Number(argv[index + 1]) : fallback;
};
const quick = argv.includes('--quick');
const SPEED = option('speed', 4);
const REQUESTS = option('requests', quick ? 50 : 150);
const RATE = option('rate', 1.5); // interactive arrivals per simulated second
const BATCH_LINES = quick ? 150 : 400;
const MODEL = 'llama-3.1-8b';

async function interactiveTtft(url: string, seed: number): Promise<number> {
  const response = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sim-timings': '1' },
    body: JSON.stringify({
      model: MODEL,
      prompt: pseudoText(seed, 512),
      max_tokens: 64,
      ignore_eos: true,
      stream: true,
    }),
  });
  if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
  const decoder = new TextDecoder();
  let buffer = '';
  let ttft = Number.NaN;
  for await (const bytes of response.body) {
    buffer += decoder.decode(bytes as Uint8Array, { stream: true });
    const events = buffer.split('\n\n');
    buffer = events.pop() ?? '';
    for (const event of events) {
      const timing = /^: sim arrival=([\d.]+) t=([\d.]+)$/m.exec(event);
      if (timing && Number.isNaN(ttft) && /^data: \{/m.test(event)) ttft = Number(timing[2]) - Number(timing[1]);
    }
  }
  return ttft;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

interface RunResult {
  name: string;
  ttfts: number[];
  batchDoneDuring: number;
  batchDrainSeconds: number | null;
}

async function run(name: string, admission: BatchConfigInput['admission'] | null): Promise<RunResult> {
  const replica: SimReplica = await startSimReplica({ model: MODEL, gpu: 'a10g', speed: SPEED });
  const root = mkdtempSync(join(tmpdir(), 'switchyard-batch-bench-'));
  const pool = replicaPool([replica]);
  const served =
    admission === null
      ? null
      : await serveBatchApi({
          root,
          dispatcher: pool.dispatcher,
          load: pool.load,
          config: { pollIntervalMs: 5, admission },
        });
  let batchId: string | null = null;
  const client = served ? new OpenAI({ baseURL: served.baseURL, apiKey: 'unused', maxRetries: 0 }) : null;
  try {
    if (client) {
      const lines = Array.from({ length: BATCH_LINES }, (_, index) =>
        JSON.stringify({
          custom_id: `b-${index}`,
          method: 'POST',
          url: '/v1/chat/completions',
          body: {
            model: MODEL,
            messages: [{ role: 'user', content: pseudoText(10_000 + index, 300) }],
            max_tokens: 128,
            ignore_eos: true,
          },
        }),
      );
      const file = await client.files.create({
        file: await toFile(Buffer.from(lines.join('\n')), 'bench.jsonl'),
        purpose: 'batch',
      });
      batchId = (
        await client.batches.create({
          input_file_id: file.id,
          endpoint: '/v1/chat/completions',
          completion_window: '24h',
        })
      ).id;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const random = mulberry32(42);
    const pending: Array<Promise<number>> = [];
    const startedAt = performance.now();
    let atSimMs = 0;
    for (let index = 0; index < REQUESTS; index++) {
      atSimMs += (-Math.log(1 - random()) / RATE) * 1000;
      const wait = startedAt + atSimMs / SPEED - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      pending.push(interactiveTtft(replica.url, index));
    }
    const ttfts = await Promise.all(pending);
    let batchDoneDuring = 0;
    let batchDrainSeconds: number | null = null;
    if (client && batchId) {
      batchDoneDuring = (await client.batches.retrieve(batchId)).request_counts?.completed ?? 0;
      const drainStart = performance.now();
      const deadline = drainStart + 120_000;
      for (;;) {
        const batch = await client.batches.retrieve(batchId);
        if (batch.status === 'completed') {
          batchDrainSeconds = ((performance.now() - drainStart) / 1000) * SPEED;
          break;
        }
        if (performance.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    return { name, ttfts, batchDoneDuring, batchDrainSeconds };
  } finally {
    await served?.close();
    await replica.close();
    rmSync(root, { recursive: true, force: true });
  }
}

const runs: Array<[string, BatchConfigInput['admission'] | null]> = [
  ['interactive only (baseline)', null],
  ['+ batch, default policy (pause while any interactive in flight, preempt)', {}],
  ['+ batch, KV < 0.7 and no queue only', { interactiveInFlightMax: null }],
  [
    '+ batch, no admission control',
    { kvUsageMax: 1, waitingMax: 1_000_000, maxInFlightPerModel: 32, preemptInFlight: false },
  ],
];
console.log(
  `batch-priority: 1× Llama 3.1 8B on A10G (simulated, speed ${SPEED}×), ${REQUESTS} interactive requests (512-token prompts, 64 output tokens, Poisson ${RATE}/s), batch of ${BATCH_LINES} chat lines (300-token prompts, 128 output tokens)`,
);
const results: RunResult[] = [];
for (const [name, admission] of runs) {
  const result = await run(name, admission);
  results.push(result);
  console.log(`  done: ${name}`);
}
const baseline = percentile(results[0]!.ttfts, 99);
console.log(
  '\n| run | TTFT p50 ms | TTFT p99 ms | p99 / baseline | batch lines done during interactive window | batch drain after (simulated s) |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const result of results) {
  const p99 = percentile(result.ttfts, 99);
  console.log(
    `| ${result.name} | ${percentile(result.ttfts, 50).toFixed(1)} | ${p99.toFixed(1)} | ${(p99 / baseline).toFixed(3)} | ${result.name.includes('baseline') ? '-' : `${result.batchDoneDuring}/${BATCH_LINES}`} | ${result.batchDrainSeconds === null ? (result.name.includes('baseline') ? '-' : 'not finished') : result.batchDrainSeconds.toFixed(1)} |`,
  );
}
