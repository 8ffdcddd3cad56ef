// `npx tsx benchmarks/soak.ts [--minutes 10] [--concurrency 64] [--seed 1]`
// A bounded soak of `switchyard serve` (the embedded default, its own process, loopback): mixed streaming / JSON
// chat and completions at fixed concurrency, with backend faults injected into the simulated replicas in phases
// (5xx/429 bursts, mid-stream drops, added latency). Prints the router's RSS and V8 heap (from its /metrics) after
// warm-up, in the middle and at the end, and every request that was lost: a non-streamed request without a 200, or a
// stream that ended without `[DONE]` or an error event. Exits 1 when RSS grew > 10 % after warm-up or anything was
// lost. The router is stopped with SIGTERM at the end (graceful shutdown is part of the soak).
import { request as httpRequest } from 'node:http';
import { parseArgs } from 'node:util';
import { seededRandom } from '../models/random.ts';
import { startServeProcess } from '../router/testing/serve-process.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '64' },
    seed: { type: 'string', default: '1' },
  },
});
const durationMs = Number(values.minutes) * 60_000;
const concurrency = Number(values.concurrency);
const random = seededRandom(Number(values.seed));

interface Memory {
  rssMiB: number;
  heapMiB: number;
}

async function memory(url: string): Promise<Memory> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string): number => {
    const line = text.split('\n').find((entry) => entry.startsWith(`${name} `) || entry.startsWith(`${name}{`));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : Number.NaN;
  };
  return {
    rssMiB: value('switchyard_process_resident_memory_bytes') / 2 ** 20,
    heapMiB: value('switchyard_nodejs_heap_size_used_bytes') / 2 ** 20,
  };
}

interface Outcome {
  kind: 'json' | 'stream';
  ok: boolean;
  detail: string;
}

function once(url: string, path: string, body: Record<string, unknown>): Promise<Outcome> {
  const kind = body['stream'] ? 'stream' : 'json';
  return new Promise((resolve) => {
    const request = httpRequest(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      timeout: 120_000,
    });
    request.on('timeout', () => request.destroy(new Error('no answer in 120 s')));
    request.on('error', (error) => resolve({ kind, ok: false, detail: `connection: ${error.message}` }));
    request.on('response', (response) => {
      let text = '';
      response.on('data', (piece: Buffer) => (text += piece.toString()));
      response.on('error', (error) => resolve({ kind, ok: false, detail: `cut: ${error.message}` }));
      response.on('end', () => {
        if (kind === 'json') {
          resolve({
            kind,
            ok: response.statusCode === 200,
            detail: `HTTP ${response.statusCode}: ${text.slice(0, 160)}`,
          });
          return;
        }
        const ended = text.trimEnd().endsWith('data: [DONE]') || /data: \{"error"/.test(text);
        resolve({
          kind,
          ok: response.statusCode !== 200 ? text.includes('"error"') : ended,
          detail: `HTTP ${response.statusCode}, tail ${JSON.stringify(text.slice(-120))}`,
        });
      });
    });
    request.end(JSON.stringify(body));
  });
}

const FAULT_PHASES: ReadonlyArray<{ name: string; vllm: Record<string, unknown>; hosted: Record<string, unknown> }> = [
  { name: 'clean', vllm: {}, hosted: {} },
  {
    name: '5xx burst',
    vllm: { errorRate: 0.2, errorStatuses: [500, 503] },
    hosted: { errorRate: 0.1, errorStatuses: [429], retryAfterSeconds: 0 },
  },
  { name: 'mid-stream drop', vllm: { dropAfterTokens: 6 }, hosted: {} },
  { name: 'slow', vllm: { addedLatencyMs: 300 }, hosted: { addedLatencyMs: 200 } },
];

async function setFaults(replicaUrl: string, faults: Record<string, unknown>): Promise<void> {
  await fetch(`${replicaUrl}/sim/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  });
}

const serve = await startServeProcess([], { env: { NODE_OPTIONS: '' } });
const replicaUrls = [...serve.output().matchAll(/simulated (\S+): (http:\/\/\S+)/g)].map((match) => ({
  pool: match[1]!,
  url: match[2]!,
}));
console.log(
  `soak: ${serve.url}, ${values.minutes} min, concurrency ${concurrency}; replicas: ${replicaUrls.map((entry) => entry.pool).join(', ')}`,
);

const started = Date.now();
const deadline = started + durationMs;
const counts = { json: 0, stream: 0, jsonLost: 0, streamLost: 0 };
const lost: string[] = [];
let phaseIndex = 0;
// One replica of each vLLM pool gets the faults (the other 8B replica and the hosted tier absorb the failover).
const faulted = replicaUrls.filter(
  (entry, index) =>
    entry.pool !== 'hosted-sim' && replicaUrls.findIndex((other) => other.pool === entry.pool) === index,
);
const hosted = replicaUrls.filter((entry) => entry.pool === 'hosted-sim');
const phaseTimer = setInterval(() => {
  phaseIndex = (phaseIndex + 1) % FAULT_PHASES.length;
  const phase = FAULT_PHASES[phaseIndex]!;
  void Promise.all([
    ...faulted.map((entry) => setFaults(entry.url, phase.vllm)),
    ...hosted.map((entry) => setFaults(entry.url, phase.hosted)),
  ]);
}, 20_000);

const MODELS = ['small', 'small', 'large', 'auto'];
async function worker(): Promise<void> {
  while (Date.now() < deadline) {
    const stream = random() < 0.5;
    const chat = random() < 0.8;
    const maxTokens = 8 + Math.floor(random() * 56);
    const model = MODELS[Math.floor(random() * MODELS.length)]!;
    const body = chat
      ? {
          model,
          stream,
          max_tokens: maxTokens,
          messages: [{ role: 'user', content: `Soak question ${Math.floor(random() * 1e6)}: describe a train.` }],
        }
      : { model, stream, max_tokens: maxTokens, prompt: `Soak prompt ${Math.floor(random() * 1e6)}` };
    const outcome = await once(serve.url, chat ? '/v1/chat/completions' : '/v1/completions', body);
    counts[outcome.kind]++;
    if (!outcome.ok) {
      counts[outcome.kind === 'json' ? 'jsonLost' : 'streamLost']++;
      if (lost.length < 20) lost.push(`${outcome.kind} ${model}: ${outcome.detail}`);
    }
  }
}

const samples: Array<{ label: string; at: number; memory: Memory }> = [];
const sample = async (label: string): Promise<void> => {
  const value = await memory(serve.url);
  samples.push({ label, at: (Date.now() - started) / 1000, memory: value });
  console.log(
    `${label.padEnd(8)} t=${((Date.now() - started) / 1000).toFixed(0)} s  RSS ${value.rssMiB.toFixed(1)} MiB  heap ${value.heapMiB.toFixed(1)} MiB  requests ${counts.json + counts.stream}`,
  );
};
await sample('idle');
const warmUpMs = Math.min(60_000, durationMs / 10);
const timers = [
  setTimeout(() => void sample('warm'), warmUpMs),
  setTimeout(() => void sample('middle'), durationMs / 2),
];
await Promise.all(Array.from({ length: concurrency }, () => worker()));
clearInterval(phaseTimer);
for (const timer of timers) clearTimeout(timer);
await sample('end');

serve.child.kill('SIGTERM');
const exit = await serve.exited;
const warm = samples.find((entry) => entry.label === 'warm')?.memory;
const end = samples.at(-1)!.memory;
const growth = warm ? (end.rssMiB - warm.rssMiB) / warm.rssMiB : Number.NaN;
console.log(
  `requests: ${counts.json} JSON (${counts.jsonLost} lost), ${counts.stream} streams (${counts.streamLost} without [DONE] or an error event); ` +
    `RSS growth after warm-up ${(growth * 100).toFixed(1)} %; router exit on SIGTERM: ${exit.code ?? exit.signal}`,
);
for (const line of lost) console.log(`LOST ${line}`);
const pass = counts.jsonLost === 0 && counts.streamLost === 0 && growth <= 0.1 && exit.code === 0;
console.log(pass ? 'PASS' : 'FAIL');
process.exit(pass ? 0 : 1);
