// Governance overhead: what the full governance chain (key auth + RPM/TPM limits + budget reservation + input and
// output guardrails + tiktoken counting + metrics + JSON logs + settle) adds per request, against the same request
// path with governance off, measured in the same run in alternating rounds; and the streaming guard's cost per chunk.
//
//   npx tsx benchmarks/governance-overhead.ts [--requests 2000] [--rounds 5] [--chunks 20000]
//
// Part 1 is in-process (the hooks the router calls, no network), so the number is the chain's own CPU time, not
// loopback noise. Part 2 (when the router has governance wired) sends real HTTP requests through two routers in
// this process, governance on vs off, against a fast fake upstream, and compares p50 latency.
// Target: ≤ 0.2 ms added p50 per request.
import { Writable } from 'node:stream';
import OpenAI from 'openai';
import { Registry } from 'prom-client';
import { ChatCompletionRequest, parseBody } from '../router/api/schemas.ts';
import { GovernanceConfig } from '../router/governance/config.ts';
import { PricingCatalog } from '../router/governance/cost/pricing.ts';
import { ChunkGuard } from '../router/governance/guardrails/chunk-guard.ts';
import { Governance } from '../router/governance/governance.ts';
import { TEST_POOLS, TEST_ROUTES } from '../router/governance/testing/chain-app.ts';

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index === -1 ? undefined : Number(process.argv[index + 1]);
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

/** A log destination that drops lines after pino serialised them (serialisation cost stays in the measurement). */
class NullSink extends Writable {
  override _write(_chunk: Buffer, _encoding: string, callback: () => void): void {
    callback();
  }
}

const REQUEST = {
  model: 'hosted-small',
  max_tokens: 64,
  messages: [
    { role: 'system', content: 'You are a helpful assistant for the Switchyard project. Answer briefly.' },
    { role: 'user', content: 'How do I configure a per-key rate limit and a daily budget for my team?' },
  ],
};
const ANSWER =
  'Create a key with `switchyard keys create --rpm 60 --daily-budget 5`, then enable governance in switchyard.yaml. Contact ops@example.com if stuck.';

async function hookLevel(requests: number, rounds: number): Promise<{ baseline: number[]; governed: number[] }> {
  const governance = await Governance.create({
    config: GovernanceConfig.parse({ enabled: true, keys: { database: ':memory:' }, logging: { level: 'info' } }),
    registry: new Registry(),
    pricing: new PricingCatalog(TEST_POOLS, TEST_ROUTES),
    logDestination: new NullSink(),
  });
  const { key } = governance.keys?.create({ name: 'bench', owner: 'bench', rpm: 1e9, tpm: 1e12, dailyBudgetUsd: 1e9 }) ?? { key: '' };
  const authorization = `Bearer ${key}`;
  const served = { pool: 'hosted-pool', backendId: 'hosted-pool' };
  const responseBody = () => ({
    id: 'x',
    object: 'chat.completion',
    created: 1,
    model: 'hosted-small',
    choices: [{ index: 0, message: { role: 'assistant', content: ANSWER }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 40, completion_tokens: 40, total_tokens: 80 },
  });
  const baseline: number[] = [];
  const governed: number[] = [];
  // Both paths do the work the router does anyway (validate, serialise the answer); the governed one adds the chain.
  const runBaseline = (): void => {
    const started = performance.now();
    parseBody(ChatCompletionRequest, structuredClone(REQUEST));
    JSON.stringify(responseBody());
    baseline.push(performance.now() - started);
  };
  const runGoverned = async (): Promise<void> => {
    const started = performance.now();
    const record = governance.authenticate(authorization);
    const admission = await governance.admit({ endpoint: 'chat', key: record, body: structuredClone(REQUEST), requestId: 'r' });
    parseBody(ChatCompletionRequest, admission.body);
    const body = responseBody();
    governance.guardBody(admission, body);
    await governance.settle(admission, { usage: body.usage, served, status: 200 });
    JSON.stringify(body);
    governed.push(performance.now() - started);
  };
  for (let index = 0; index < 300; index++) {
    runBaseline();
    await runGoverned();
  }
  baseline.length = 0;
  governed.length = 0;
  const perRound = Math.ceil(requests / rounds);
  for (let round = 0; round < rounds; round++) {
    for (let index = 0; index < perRound; index++) runBaseline();
    for (let index = 0; index < perRound; index++) await runGoverned();
  }
  await governance.close();
  return { baseline, governed };
}

function streamGuardPerChunk(chunks: number): { plain: number; guarded: number } {
  const words = ANSWER.split(/(?<= )/);
  const chunkAt = (index: number): Record<string, unknown> => ({
    id: 'c',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'm',
    choices: [{ index: 0, delta: { content: words[index % words.length] }, finish_reason: null }],
  });
  const policy = GovernanceConfig.parse({}).guardrails.default.output;
  const measure = (guard: ChunkGuard | undefined): number => {
    const started = performance.now();
    for (let index = 0; index < chunks; index++) {
      const chunk = chunkAt(index);
      const out = guard ? guard.transform(chunk) : chunk;
      if (out) JSON.stringify(out);
    }
    return ((performance.now() - started) * 1000) / chunks;
  };
  measure(undefined);
  measure(new ChunkGuard({ policy, systemPrompt: REQUEST.messages[0]?.content ?? '' }));
  const plain = measure(undefined);
  const guarded = measure(new ChunkGuard({ policy, systemPrompt: REQUEST.messages[0]?.content ?? '' }));
  return { plain, guarded };
}

const ADMIN_TOKEN = 'benchmark-admin-token-0123456789';

async function httpLevel(requests: number): Promise<{ off: number[]; on: number[] } | undefined> {
  const { RouterConfig } = await import('../router/config/schema.ts');
  if (!('governance' in RouterConfig.shape)) return undefined;
  const { startFakeUpstream } = await import('../router/testing/fake-upstream.ts');
  const { startRouter } = await import('../router/server.ts');
  const { validateConfig } = await import('../router/config/load.ts');
  const upstream = await startFakeUpstream({ tokens: 16 });
  const base = {
    pools: [{ name: 'pool', kind: 'vllm', model: 'llama-3.1-8b', gpu: 'h100', backends: [{ url: upstream.url }] }],
    models: [{ name: 'llama-3.1-8b', route: ['pool'] }],
    scheduling: { scrapeIntervalMs: 100, staleAfterMs: 5_000 },
  };
  const off = await startRouter(validateConfig(base, 'bench-off', {}), { host: '127.0.0.1', port: 0, processMetrics: false });
  const on = await startRouter(
    validateConfig(
      { ...base, governance: { enabled: true, keys: { database: ':memory:', adminToken: ADMIN_TOKEN }, logging: { level: 'info' } } },
      'bench-on',
      {},
    ),
    { host: '127.0.0.1', port: 0, processMetrics: false },
  );
  const created = await fetch(`${on.url}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', owner: 'bench', rpm: 1e9, tpm: 1e12, dailyBudgetUsd: 1e9 }),
  });
  const { key } = (await created.json()) as { key: string };
  const clients = {
    off: new OpenAI({ baseURL: `${off.url}/v1`, apiKey: 'none', maxRetries: 0 }),
    on: new OpenAI({ baseURL: `${on.url}/v1`, apiKey: key, maxRetries: 0 }),
  };
  const times = { off: [] as number[], on: [] as number[] };
  const body = { ...REQUEST, model: 'llama-3.1-8b' } as OpenAI.ChatCompletionCreateParamsNonStreaming;
  for (let index = 0; index < 100; index++) {
    await clients.off.chat.completions.create(body);
    await clients.on.chat.completions.create(body);
  }
  for (let index = 0; index < requests; index++) {
    for (const which of index % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
      const started = performance.now();
      await clients[which].chat.completions.create(body);
      times[which].push(performance.now() - started);
    }
  }
  await on.close();
  await off.close();
  await upstream.close();
  return times;
}

const requests = argument('requests', 2000);
const rounds = argument('rounds', 5);
const hooks = await hookLevel(requests, rounds);
const added50 = percentile(hooks.governed, 50) - percentile(hooks.baseline, 50);
const added99 = percentile(hooks.governed, 99) - percentile(hooks.baseline, 99);
console.log('governance chain, in-process hooks (same run, alternating rounds)');
console.log(`  baseline (validate + serialise)  p50 ${(percentile(hooks.baseline, 50) * 1000).toFixed(1)} µs  p99 ${(percentile(hooks.baseline, 99) * 1000).toFixed(1)} µs`);
console.log(`  governed (full chain)            p50 ${(percentile(hooks.governed, 50) * 1000).toFixed(1)} µs  p99 ${(percentile(hooks.governed, 99) * 1000).toFixed(1)} µs`);
console.log(`  added: p50 ${added50.toFixed(4)} ms, p99 ${added99.toFixed(4)} ms   (target ≤ 0.2 ms p50: ${added50 <= 0.2 ? 'MET' : 'MISSED'})`);
console.log(`  governed p90 ${(percentile(hooks.governed, 90) * 1000).toFixed(1)} µs, p95 ${(percentile(hooks.governed, 95) * 1000).toFixed(1)} µs (the p99 tail is GC and the shared machine; see p90/p95)`);
console.log(`  ratio governed/baseline p50: ${(percentile(hooks.governed, 50) / percentile(hooks.baseline, 50)).toFixed(2)}×`);
const perChunk = streamGuardPerChunk(argument('chunks', 20_000));
console.log('streaming guard per chunk (PII + leakage, 48-char hold-back)');
console.log(`  serialise only ${perChunk.plain.toFixed(2)} µs/chunk, guarded ${perChunk.guarded.toFixed(2)} µs/chunk, added ${(perChunk.guarded - perChunk.plain).toFixed(2)} µs/chunk (${(perChunk.guarded / perChunk.plain).toFixed(2)}×)`);
const http = await httpLevel(Math.min(requests, 1000));
if (http) {
  const offP50 = percentile(http.off, 50);
  const onP50 = percentile(http.on, 50);
  console.log('through the real router over HTTP (governance on vs off, same run, interleaved)');
  console.log(`  off p50 ${offP50.toFixed(3)} ms, on p50 ${onP50.toFixed(3)} ms, added ${(onP50 - offP50).toFixed(3)} ms (${(onP50 / offP50).toFixed(3)}×)`);
} else {
  console.log('through the real router: skipped (router config has no `governance` section yet)');
}
