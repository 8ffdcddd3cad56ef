// Saturation sweep of one simulated Llama 3.1 8B (bf16) on one A100 80GB: closed-loop clients at concurrency
// 1 → 256 with ShareGPT-like prompt/answer lengths (seeded log-normals), streaming over real HTTP.
// Prints output tok/s and TTFT / inter-token latency percentiles per level, and the saturated throughput as a ratio
// to published vLLM figures for this model and GPU.
//
//   npx tsx benchmarks/sim-saturation.ts [--quick]
//
// The replica runs in its own process at speed 20 (simulated time 20× real time); each level uses a fresh replica.
// Latencies are read in simulated time: the benchmark asks for `x-sim-timings: 1`, which prefixes every SSE event with
// an SSE comment carrying its simulated timestamp. When the host cannot keep up with the speed, the engine keeps its
// own timeline exact (steps start where the previous one ended, arrivals join the step in flight) and the wall time
// stretches; the mean lag printed per level shows how far behind the host ran.
import { startSimReplica } from '../models/sim/index.ts';
import { createRandom, pseudoText } from '../models/sim/tokenizer.ts';

const LEVELS = [1, 4, 16, 64, 128, 256];
/**
 * Reference saturated output throughput of real vLLM for Llama 3.1 8B on 1× A100 80GB with ShareGPT prompts: "a few
 * thousand tok/s" in published runs; 3,000 is the midpoint used here (an approximate figure, not a calibration).
 */
const PUBLISHED_SATURATED_OUTPUT_TOKENS_PER_S = 3000;
/** Simulated time runs this much faster than real time; a host too slow for it only stretches the wall time. */
const SPEED = 20;
const quick = process.argv.includes('--quick');

interface Shape {
  input: number;
  output: number;
}

/** ShareGPT-like lengths: log-normal, input median 180 (mean ≈ 270), output median 150 (mean ≈ 205). */
function shareGptLike(random: () => number): Shape {
  const gaussian = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const input = Math.round(Math.min(2048, Math.max(4, 180 * Math.exp(0.9 * gaussian()))));
  const output = Math.round(Math.min(1024, Math.max(4, 150 * Math.exp(0.8 * gaussian()))));
  return { input, output };
}

interface RequestResult {
  arrivalMs: number;
  endMs: number;
  ttftMs: number;
  gapsMs: number[];
  tpotMs: number | undefined;
  outputTokens: number;
}

/** One streamed request; `x-sim-timings: 1` makes the simulator prefix each SSE event with its simulated time. */
async function streamOne(url: string, shape: Shape, seed: number): Promise<RequestResult> {
  const response = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sim-timings': '1' },
    body: JSON.stringify({
      model: 'llama-3.1-8b',
      prompt: pseudoText(seed, shape.input),
      max_tokens: shape.output,
      ignore_eos: true,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  const decoder = new TextDecoder();
  let buffer = '';
  const tokenTimes: number[] = [];
  let arrivalMs = Number.NaN;
  let endMs = Number.NaN;
  let outputTokens = 0;
  for await (const bytes of response.body) {
    buffer += decoder.decode(bytes as Uint8Array, { stream: true });
    const events = buffer.split('\n\n');
    buffer = events.pop() ?? '';
    for (const event of events) {
      const timing = /^: sim arrival=([\d.]+) t=([\d.]+)$/m.exec(event);
      const data = /^data: (.*)$/m.exec(event)?.[1];
      if (!timing || data === undefined || data === '[DONE]') continue;
      arrivalMs = Number(timing[1]);
      const at = Number(timing[2]);
      endMs = at;
      const chunk = JSON.parse(data) as { choices: { text: string }[]; usage?: { completion_tokens: number } };
      if (chunk.usage) outputTokens = chunk.usage.completion_tokens;
      if (chunk.choices.length > 0) tokenTimes.push(at);
    }
  }
  const first = tokenTimes[0] ?? endMs;
  const last = tokenTimes[tokenTimes.length - 1] ?? first;
  return {
    arrivalMs,
    endMs,
    ttftMs: first - arrivalMs,
    gapsMs: tokenTimes.slice(1).map((at, index) => at - (tokenTimes[index] ?? at)),
    tpotMs: tokenTimes.length > 1 ? (last - first) / (tokenTimes.length - 1) : undefined,
    outputTokens,
  };
}

/**
 * Simulated seconds during which at least one request was in flight (union of [arrival, end]). Gaps where no request
 * is in flight are client think time, which the speed factor would otherwise inflate (real ms × speed).
 */
function busySeconds(results: readonly RequestResult[]): number {
  const spans = results.map((result) => [result.arrivalMs, result.endMs] as const).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let start = Number.NaN;
  let end = Number.NaN;
  for (const [from, to] of spans) {
    if (Number.isNaN(start) || from > end) {
      if (!Number.isNaN(start)) total += end - start;
      start = from;
      end = to;
    } else end = Math.max(end, to);
  }
  if (!Number.isNaN(start)) total += end - start;
  return total / 1000;
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

interface LevelResult {
  concurrency: number;
  requests: number;
  speed: number;
  outputTokensPerS: number;
  ttftP50: number;
  ttftP99: number;
  itlP50: number;
  itlP99: number;
  tpotP50: number;
  meanLagMs: number;
  wallSeconds: number;
  kvBlocks: number;
  preemptions: number;
}

async function runLevel(concurrency: number): Promise<LevelResult> {
  const speed = SPEED;
  const requests = quick ? Math.max(4, concurrency) : Math.max(16, concurrency * 2);
  const random = createRandom(1234 + concurrency);
  const shapes = Array.from({ length: requests }, () => shareGptLike(random));
  const replica = await startSimReplica({
    model: 'llama-3.1-8b',
    gpu: 'a100-80gb',
    speed,
    isolation: 'process',
    maxModelLen: 8192,
  });
  try {
    const results: RequestResult[] = [];
    let next = 0;
    const wallStarted = performance.now();
    const worker = async (): Promise<void> => {
      for (;;) {
        const index = next++;
        const shape = shapes[index];
        if (!shape) return;
        results.push(await streamOne(replica.url, shape, 10_000 * concurrency + index));
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const simSeconds = busySeconds(results);
    const stats = await replica.stats();
    const outputTokens = results.reduce((sum, result) => sum + result.outputTokens, 0);
    const gaps = results.flatMap((result) => result.gapsMs);
    const tpots = results.flatMap((result) => (result.tpotMs === undefined ? [] : [result.tpotMs]));
    const ttfts = results.map((result) => result.ttftMs);
    return {
      concurrency,
      requests,
      speed,
      outputTokensPerS: outputTokens / simSeconds,
      ttftP50: percentile(ttfts, 50),
      ttftP99: percentile(ttfts, 99),
      itlP50: percentile(gaps, 50),
      itlP99: percentile(gaps, 99),
      tpotP50: percentile(tpots, 50),
      meanLagMs: stats.steps > 0 ? stats.lagMs / stats.steps : 0,
      wallSeconds: (performance.now() - wallStarted) / 1000,
      kvBlocks: stats.totalBlocks,
      preemptions: stats.preemptions,
    };
  } finally {
    await replica.close();
  }
}

const pad = (value: string, width: number): string => value.padStart(width);
const fmt = (value: number, digits = 0): string => (Number.isFinite(value) ? value.toFixed(digits) : '—');

console.log(
  'Simulated Llama 3.1 8B bf16 on 1× A100 80GB, ShareGPT-like lengths, streaming /v1/completions, closed loop.',
);
console.log(
  "Times are simulated ms (from the simulator's per-event timestamps); each level runs on a fresh replica process at the speed shown.\n",
);
console.log(
  [
    pad('conc', 5),
    pad('reqs', 5),
    pad('speed', 6),
    pad('out tok/s', 10),
    pad('TTFT p50', 9),
    pad('TTFT p99', 9),
    pad('ITL p50', 8),
    pad('ITL p99', 8),
    pad('TPOT p50', 9),
    pad('lag ms', 7),
    pad('wall s', 7),
  ].join(' '),
);
const levels: LevelResult[] = [];
for (const concurrency of LEVELS) {
  const result = await runLevel(concurrency);
  levels.push(result);
  console.log(
    [
      pad(String(result.concurrency), 5),
      pad(String(result.requests), 5),
      pad(`${result.speed}×`, 6),
      pad(fmt(result.outputTokensPerS), 10),
      pad(fmt(result.ttftP50, 1), 9),
      pad(fmt(result.ttftP99, 1), 9),
      pad(fmt(result.itlP50, 1), 8),
      pad(fmt(result.itlP99, 1), 8),
      pad(fmt(result.tpotP50, 1), 9),
      pad(fmt(result.meanLagMs, 1), 7),
      pad(fmt(result.wallSeconds, 1), 7),
    ].join(' '),
  );
}
const saturated = Math.max(...levels.map((level) => level.outputTokensPerS));
const single = levels[0];
console.log(
  `\nKV cache: ${levels[0]?.kvBlocks ?? 0} blocks of 16 tokens; preemptions at 256: ${levels[levels.length - 1]?.preemptions ?? 0}.`,
);
if (single)
  console.log(`Batching gain (saturated / single stream): ${(saturated / single.outputTokensPerS).toFixed(1)}×.`);
console.log(
  `Saturated output throughput: ${fmt(saturated)} tok/s vs reference vLLM ≈ ${PUBLISHED_SATURATED_OUTPUT_TOKENS_PER_S} tok/s ("a few thousand" published; approximate) → ratio ${(saturated / PUBLISHED_SATURATED_OUTPUT_TOKENS_PER_S).toFixed(2)}.`,
);
console.log(
  'lag ms = mean delay of an engine step behind the wall clock (simulated ms): host slowness; it stretches wall time, not the simulated timings.',
);
