// Spill-over under a load ramp past pool capacity: simulated Llama 3.1 8B ×2 on A10G plus the simulator's hosted
// profile as the hosted tier, an open-loop Poisson ramp of long-prompt streaming requests, run twice in one go —
// spill-over ON (TTFT SLO, the router predicts queue + prefill from the step-time model and spills what would miss
// it) and OFF (everything queues on the pool). Prints TTFT p50/p99 per stage against the SLO and the hosted share.
//
//   npx tsx benchmarks/router-spillover.ts [--quick] [--speed 10] [--slo-ms 1500]
//
// Everything runs `speed`× faster than real time; latencies and rates are reported in simulated (GPU) time.
import OpenAI from 'openai';
import { validateConfig } from '../router/config/load.ts';
import { startRouter } from '../router/server.ts';
import { createRandom, pseudoText } from '../models/sim/tokenizer.ts';

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}

const quick = process.argv.includes('--quick');
const SPEED = argument('speed', 4);
const SLO_MS = argument('slo-ms', 1000);
const PROMPT_TOKENS = 1000;
const MAX_TOKENS = 32;
/** Arrival rates in simulated requests/s; the pool's capacity at this prompt length is ≈ 4–5 req/s (prefill-bound). */
const RATES = quick ? [1, 4, 8] : [1, 2, 4, 6, 8];
const STAGE_SIM_SECONDS = quick ? 15 : 20;
/** Prompts are generated before the run so the client's CPU does not delay arrivals. */
const PROMPTS = Array.from(
  { length: Math.ceil(RATES.reduce((sum, rate) => sum + rate, 0) * STAGE_SIM_SECONDS * 1.5) + 20 },
  (_, index) => pseudoText(index + 1, PROMPT_TOKENS),
);

interface Result {
  stage: number;
  ttftSimMs: number;
  hosted: boolean;
  ok: boolean;
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function run(spillover: boolean): Promise<Result[]> {
  const config = validateConfig(
    {
      pools: [
        {
          name: 'llama-8b-a10g',
          kind: 'vllm',
          model: 'llama-3.1-8b',
          gpu: 'a10g',
          driver: { type: 'simulator', replicas: 2, speed: SPEED },
        },
        {
          name: 'hosted-sim',
          kind: 'openai',
          modelMap: { 'llama-3.1-8b': 'gpt-4o-mini', 'hosted-only': 'gpt-4o-mini' },
          driver: { type: 'simulator', speed: SPEED },
        },
      ],
      models: [
        {
          name: 'llama-3.1-8b',
          route: ['llama-8b-a10g', 'hosted-sim'],
          sloTtftMs: Math.max(1, Math.round(SLO_MS / SPEED)),
          spillover,
        },
        { name: 'hosted-only', route: ['hosted-sim'] },
      ],
      scheduling: { scrapeIntervalMs: 20, staleAfterMs: 1_000 },
      timeouts: { totalMs: 120_000, ttftMs: 120_000 },
    },
    'bench',
    {},
  );
  const router = await startRouter(config, { host: '127.0.0.1', port: 0, processMetrics: false });
  const client = new OpenAI({ baseURL: `${router.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 300_000 });
  // Warm both paths (JIT, connections) so the first measured requests are not cold starts.
  for (const model of ['llama-3.1-8b', 'hosted-only']) {
    for (let index = 0; index < 4; index++) {
      await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'warm up' }], max_tokens: 2 });
    }
  }
  const random = createRandom(7);
  const results: Result[] = [];
  const pending: Promise<void>[] = [];
  let seed = 0;
  for (const [stage, rate] of RATES.entries()) {
    const realRate = rate * SPEED;
    const stageEnd = performance.now() + (STAGE_SIM_SECONDS * 1000) / SPEED;
    while (performance.now() < stageEnd) {
      const prompt = PROMPTS[seed++ % PROMPTS.length]!;
      pending.push(
        (async () => {
          const started = performance.now();
          try {
            const { data, response } = await client.chat.completions
              .create({
                model: 'llama-3.1-8b',
                messages: [{ role: 'user', content: prompt }],
                max_tokens: MAX_TOKENS,
                stream: true,
              })
              .withResponse();
            let first = 0;
            for await (const _chunk of data) if (first === 0) first = performance.now();
            results.push({
              stage,
              ttftSimMs: (first - started) * SPEED,
              hosted: response.headers.get('x-switchyard-backend') === 'hosted-sim',
              ok: true,
            });
          } catch {
            results.push({ stage, ttftSimMs: Number.NaN, hosted: false, ok: false });
          }
        })(),
      );
      // Poisson arrivals: exponential gaps at the stage's real-time rate.
      const gapMs = (-Math.log(1 - random()) / realRate) * 1000;
      await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
  }
  await Promise.all(pending);
  await router.close();
  return results;
}

function report(label: string, results: readonly Result[]): void {
  console.log(`\n${label}`);
  console.log(
    '| stage | rate (sim req/s) | requests | TTFT p50 (sim ms) | TTFT p95 | TTFT p99 | p99 / SLO | share to hosted | pool / hosted TTFT p50 | errors |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const rows = RATES.map((rate, stage) => ({ rate, items: results.filter((result) => result.stage === stage) }));
  rows.push({ rate: Number.NaN, items: [...results] });
  for (const [index, { rate, items }] of rows.entries()) {
    const ok = items.filter((item) => item.ok);
    const ttfts = ok.map((item) => item.ttftSimMs);
    const p99 = percentile(ttfts, 99);
    console.log(
      `| ${index < RATES.length ? index + 1 : 'all'} | ${Number.isNaN(rate) ? 'ramp' : rate} | ${items.length} | ${percentile(ttfts, 50).toFixed(0)} | ${percentile(ttfts, 95).toFixed(0)} | ${p99.toFixed(0)} | ${(p99 / SLO_MS).toFixed(2)} | ${((ok.filter((item) => item.hosted).length / Math.max(1, ok.length)) * 100).toFixed(1)} % | ${percentile(
        ok.filter((item) => !item.hosted).map((item) => item.ttftSimMs),
        50,
      ).toFixed(0)} / ${percentile(
        ok.filter((item) => item.hosted).map((item) => item.ttftSimMs),
        50,
      ).toFixed(0)} | ${items.length - ok.length} |`,
    );
  }
}

console.log(
  `spill-over benchmark: 2× Llama 3.1 8B on A10G (simulated, speed ${SPEED}×) + hosted tier; prompts ${PROMPT_TOKENS} tokens, ` +
    `${MAX_TOKENS} output tokens, TTFT SLO ${SLO_MS} ms, ramp ${RATES.join(' → ')} req/s × ${STAGE_SIM_SECONDS} s (simulated)`,
);
const withSpill = await run(true);
report('spill-over ON (predicted TTFT > SLO → hosted tier)', withSpill);
const withoutSpill = await run(false);
report('spill-over OFF (everything queues on the pool)', withoutSpill);
const p99On = percentile(
  withSpill.filter((r) => r.ok).map((r) => r.ttftSimMs),
  99,
);
const p99Off = percentile(
  withoutSpill.filter((r) => r.ok).map((r) => r.ttftSimMs),
  99,
);
const p95On = percentile(
  withSpill.filter((r) => r.ok).map((r) => r.ttftSimMs),
  95,
);
const p95Off = percentile(
  withoutSpill.filter((r) => r.ok).map((r) => r.ttftSimMs),
  95,
);
console.log(
  `\nTTFT over the whole ramp: p99 ON ${p99On.toFixed(0)} ms vs OFF ${p99Off.toFixed(0)} ms (${(p99Off / p99On).toFixed(1)}× lower), ` +
    `p95 ON ${p95On.toFixed(0)} vs OFF ${p95Off.toFixed(0)} (${(p95Off / p95On).toFixed(1)}×); SLO ${SLO_MS} ms; ` +
    `hosted share ${((withSpill.filter((r) => r.hosted).length / Math.max(1, withSpill.length)) * 100).toFixed(1)} %`,
);
