// Governance overhead: what the full governance chain (key auth + RPM/TPM limits + budget reservation + input and
// output guardrails + tiktoken counting + metrics + JSON logs + settle) adds per request, against the same request
// path with governance off, measured in the same run in alternating rounds; and the streaming guard's cost per chunk.
//
//   npx tsx benchmarks/governance-overhead.ts [--requests 2000] [--rounds 5] [--chunks 20000] [--http-requests 1000] [--before DIR]
//
// --before DIR compares with another checkout of the repository in the same run (e.g. the last commit:
// `mkdir DIR && git archive HEAD | tar -x -C DIR && ln -s $PWD/node_modules DIR/`): its governance chain runs in the
// same rounds, its streaming guard beside this one, and a third router process runs its code over HTTP.
//
// Part 1 is in-process (the hooks the router calls, no network), so the number is the chain's own CPU time, not
// loopback noise. Part 2 sends real HTTP requests (the openai SDK, one at a time) through two router processes,
// governance on vs off, against a fast fake upstream in a third process, and compares p50 latency and each router's
// CPU time per request (each server in its own process, so no other component's work lands in a router's numbers).
// Target: ≤ 0.2 ms added p50 per request.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import OpenAI from 'openai';
import { Registry } from 'prom-client';
import { ChatCompletionRequest, parseBody } from '../core/openai-schemas.ts';
import { GovernanceConfig } from '../router/config/governance.ts';
import { PricingCatalog } from '../router/governance/cost/pricing.ts';
import { ChunkGuard } from '../router/governance/guardrails/chunk-guard.ts';
import { Governance } from '../router/governance/governance.ts';
import { TEST_POOLS, TEST_ROUTES } from '../router/governance/testing/chain-app.ts';

function textArgument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

/** The governance modules the benchmark drives, from this checkout or from `--before DIR`. */
interface GovernanceModules {
  Governance: typeof Governance;
  GovernanceConfig: typeof GovernanceConfig;
  PricingCatalog: typeof PricingCatalog;
  ChunkGuard: typeof ChunkGuard;
}

const THIS_CHECKOUT: GovernanceModules = { Governance, GovernanceConfig, PricingCatalog, ChunkGuard };

async function modulesFrom(checkout: string): Promise<GovernanceModules> {
  const load = (path: string): Promise<Record<string, unknown>> =>
    import(pathToFileURL(resolve(checkout, path)).href) as Promise<Record<string, unknown>>;
  // The other checkout's classes have the same shape (that is what is being compared); their types are this one's.
  const [governance, config, pricing, chunkGuard] = await Promise.all([
    load('router/governance/governance.ts'),
    // The section schema lives in router/config/ (router/governance/config.ts in older checkouts).
    load(
      existsSync(resolve(checkout, 'router/config/governance.ts'))
        ? 'router/config/governance.ts'
        : 'router/governance/config.ts',
    ),
    load('router/governance/cost/pricing.ts'),
    load('router/governance/guardrails/chunk-guard.ts'),
  ]);
  return {
    Governance: governance['Governance'] as typeof Governance,
    GovernanceConfig: config['GovernanceConfig'] as typeof GovernanceConfig,
    PricingCatalog: pricing['PricingCatalog'] as typeof PricingCatalog,
    ChunkGuard: chunkGuard['ChunkGuard'] as typeof ChunkGuard,
  };
}

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

/** One governed request through the hooks the router calls (auth, admit, validate, guard, settle, serialise). */
async function governedRunner(
  modules: GovernanceModules,
): Promise<{ run: () => Promise<number>; close: () => Promise<void> }> {
  const governance = await modules.Governance.create({
    config: modules.GovernanceConfig.parse({
      enabled: true,
      keys: { database: ':memory:' },
      logging: { level: 'info' },
    }),
    registry: new Registry(),
    pricing: new modules.PricingCatalog(TEST_POOLS, TEST_ROUTES),
    logDestination: new NullSink(),
  });
  const { key } = governance.keys?.create({
    name: 'bench',
    owner: 'bench',
    rpm: 1e9,
    tpm: 1e12,
    dailyBudgetUsd: 1e9,
  }) ?? { key: '' };
  const authorization = `Bearer ${key}`;
  const served = { pool: 'hosted-pool', backendId: 'hosted-pool' };
  const run = async (): Promise<number> => {
    const started = performance.now();
    const record = governance.authenticate(authorization);
    const admission = await governance.admit({
      endpoint: 'chat',
      key: record,
      body: structuredClone(REQUEST),
      requestId: 'r',
    });
    parseBody(ChatCompletionRequest, admission.body);
    const body = responseBody();
    governance.guardBody(admission, body);
    await governance.settle(admission, { usage: body.usage, served, status: 200 });
    JSON.stringify(body);
    return performance.now() - started;
  };
  return { run, close: () => governance.close() };
}

const responseBody = () => ({
  id: 'x',
  object: 'chat.completion',
  created: 1,
  model: 'hosted-small',
  choices: [{ index: 0, message: { role: 'assistant', content: ANSWER }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 40, completion_tokens: 40, total_tokens: 80 },
});

async function hookLevel(
  requests: number,
  rounds: number,
  before: GovernanceModules | undefined,
): Promise<{ baseline: number[]; governed: number[]; before: number[] }> {
  const runners = {
    governed: await governedRunner(THIS_CHECKOUT),
    before: before ? await governedRunner(before) : undefined,
  };
  const times = { baseline: [] as number[], governed: [] as number[], before: [] as number[] };
  // Both paths do the work the router does anyway (validate, serialise the answer); the governed one adds the chain.
  const runBaseline = (): number => {
    const started = performance.now();
    parseBody(ChatCompletionRequest, structuredClone(REQUEST));
    JSON.stringify(responseBody());
    return performance.now() - started;
  };
  for (let index = 0; index < 300; index++) {
    runBaseline();
    await runners.governed.run();
    await runners.before?.run();
  }
  const perRound = Math.ceil(requests / rounds);
  for (let round = 0; round < rounds; round++) {
    for (let index = 0; index < perRound; index++) times.baseline.push(runBaseline());
    // Alternate which chain goes first, so neither always runs right after the baseline.
    const order = round % 2 === 0 ? (['governed', 'before'] as const) : (['before', 'governed'] as const);
    for (const which of order) {
      const runner = runners[which];
      if (runner) for (let index = 0; index < perRound; index++) times[which].push(await runner.run());
    }
  }
  await runners.governed.close();
  await runners.before?.close();
  return times;
}

function streamGuardPerChunk(
  chunks: number,
  before: GovernanceModules | undefined,
): { plain: number; guarded: number; before: number } {
  const words = ANSWER.split(/(?<= )/);
  const chunkAt = (index: number): Record<string, unknown> => ({
    id: 'c',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'm',
    choices: [{ index: 0, delta: { content: words[index % words.length] }, finish_reason: null }],
  });
  const policy = GovernanceConfig.parse({}).guardrails.default.output;
  const perRepeat = Math.ceil(chunks / 5);
  const measure = (guard: ChunkGuard | undefined): number => {
    const started = performance.now();
    for (let index = 0; index < perRepeat; index++) {
      const chunk = chunkAt(index);
      const out = guard ? guard.transform(chunk) : chunk;
      if (out) JSON.stringify(out);
    }
    return ((performance.now() - started) * 1000) / perRepeat;
  };
  const systemPrompt = REQUEST.messages[0]?.content ?? '';
  const guardOf = (modules: GovernanceModules): ChunkGuard => new modules.ChunkGuard({ policy, systemPrompt });
  measure(undefined);
  measure(guardOf(THIS_CHECKOUT));
  if (before) measure(guardOf(before));
  // Median of alternating repetitions (the machine is shared).
  const results = { plain: [] as number[], guarded: [] as number[], before: [] as number[] };
  for (let repeat = 0; repeat < 5; repeat++) {
    results.plain.push(measure(undefined));
    results.guarded.push(measure(guardOf(THIS_CHECKOUT)));
    if (before) results.before.push(measure(guardOf(before)));
  }
  return {
    plain: percentile(results.plain, 50),
    guarded: percentile(results.guarded, 50),
    before: percentile(results.before, 50),
  };
}

const ADMIN_TOKEN = 'benchmark-admin-token-0123456789';

/** Child process roles for the HTTP part: each server in its own process, so neither the client's nor the other
 * router's work is interleaved into a router's measured time, and each router's CPU time is its own. */
async function runRole(role: 'upstream' | 'off' | 'on', upstreamUrl: string | undefined): Promise<void> {
  let port: number;
  let key = '';
  if (role === 'upstream') {
    const { startFakeUpstream } = await import('../core/testing/fake-upstream.ts');
    port = (await startFakeUpstream({ tokens: 16 })).port;
  } else {
    const { startRouter } = await import('../router/server.ts');
    const { validateConfig } = await import('../router/config/load.ts');
    const base = {
      pools: [{ name: 'pool', kind: 'vllm', model: 'llama-3.1-8b', gpu: 'h100', backends: [{ url: upstreamUrl! }] }],
      models: [{ name: 'llama-3.1-8b', route: ['pool'] }],
      scheduling: { scrapeIntervalMs: 100, staleAfterMs: 5_000 },
    };
    const governed = {
      ...base,
      governance: {
        enabled: true,
        keys: { database: ':memory:', adminToken: ADMIN_TOKEN },
        logging: { level: 'info' },
      },
    };
    const router = await startRouter(validateConfig(role === 'on' ? governed : base, `bench-${role}`, {}), {
      host: '127.0.0.1',
      port: 0,
      processMetrics: false,
    });
    port = router.port;
    if (role === 'on') {
      const created = await fetch(`${router.url}/admin/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'bench', owner: 'bench', rpm: 1e9, tpm: 1e12, dailyBudgetUsd: 1e9 }),
      });
      key = ((await created.json()) as { key: string }).key;
    }
  }
  process.on('message', (message: string) => {
    if (message === 'cpu') process.send?.({ cpu: process.cpuUsage() });
  });
  // SIGINT exits normally, so a --cpu-prof profile gets written.
  process.once('SIGINT', () => process.exit(0));
  process.send?.({ port, key });
}

interface Child {
  process: ChildProcess;
  port: number;
  key: string;
}

async function spawnRole(role: string, upstreamUrl?: string, script = fileURLToPath(import.meta.url)): Promise<Child> {
  // The request log goes to the child's stdout like a deployed router's; here it is discarded by the OS (/dev/null).
  const child = fork(script, ['--role', role, ...(upstreamUrl ? ['--upstream', upstreamUrl] : [])], {
    // GOVERNANCE_BENCH_PROFILE=dir writes CPU profiles of both routers there (node --cpu-prof).
    execArgv: [
      '--import',
      'tsx',
      ...(process.env['GOVERNANCE_BENCH_PROFILE'] && role !== 'upstream'
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env['GOVERNANCE_BENCH_PROFILE']}`]
        : []),
    ],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const { port, key } = await new Promise<{ port: number; key: string }>((resolve, reject) => {
    child.once('message', (message: { port: number; key: string }) => resolve(message));
    child.once('exit', (code) => reject(new Error(`${role} exited with ${code}`)));
  });
  return { process: child, port, key };
}

async function cpuMs(child: Child): Promise<number> {
  child.process.send('cpu');
  const usage = await new Promise<NodeJS.CpuUsage>((resolve) =>
    child.process.once('message', (message: { cpu: NodeJS.CpuUsage }) => resolve(message.cpu)),
  );
  return (usage.user + usage.system) / 1000;
}

type RouterName = 'off' | 'on' | 'before';

async function httpLevel(
  requests: number,
  beforeCheckout: string | undefined,
): Promise<{
  times: Record<RouterName, number[]>;
  blockP50s: Record<RouterName, number[]>;
  cpuUs: Record<RouterName, number>;
}> {
  const upstream = await spawnRole('upstream');
  const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
  const routers: Partial<Record<RouterName, Child>> = {
    off: await spawnRole('off', upstreamUrl),
    on: await spawnRole('on', upstreamUrl),
  };
  // The other checkout's benchmark script serves its own governed router (its role 'on').
  if (beforeCheckout)
    routers.before = await spawnRole('on', upstreamUrl, resolve(beforeCheckout, 'benchmarks/governance-overhead.ts'));
  const names = Object.keys(routers) as RouterName[];
  const clients = Object.fromEntries(
    names.map((name) => {
      const router = routers[name] as Child;
      return [
        name,
        new OpenAI({ baseURL: `http://127.0.0.1:${router.port}/v1`, apiKey: router.key || 'none', maxRetries: 0 }),
      ];
    }),
  ) as Partial<Record<RouterName, OpenAI>>;
  const times: Record<RouterName, number[]> = { off: [], on: [], before: [] };
  const cpu: Record<RouterName, number> = { off: 0, on: 0, before: 0 };
  // Each block's p50 per router: blocks of the same index ran back to back, so their difference is a paired sample
  // that machine-load drift over the run does not bias.
  const blockP50s: Record<RouterName, number[]> = { off: [], on: [], before: [] };
  const body = { ...REQUEST, model: 'llama-3.1-8b' } as OpenAI.ChatCompletionCreateParamsNonStreaming;
  for (let index = 0; index < 200; index++)
    for (const name of names) await clients[name]?.chat.completions.create(body);
  // Blocks of 50 per router (CPU is read per block), the order rotating from block to block.
  for (let block = 0; block < Math.ceil(requests / 50); block++) {
    const order = names.map((_, index) => names[(index + block) % names.length] as RouterName);
    for (const which of order) {
      const router = routers[which] as Child;
      const client = clients[which] as OpenAI;
      const before = await cpuMs(router);
      const block: number[] = [];
      for (let index = 0; index < 50; index++) {
        const started = performance.now();
        await client.chat.completions.create(body);
        block.push(performance.now() - started);
      }
      cpu[which] += (await cpuMs(router)) - before;
      times[which].push(...block);
      blockP50s[which].push(percentile(block, 50));
    }
  }
  for (const child of [upstream, ...names.map((name) => routers[name] as Child)]) child.process.kill('SIGINT');
  const perRequest = (ms: number, count: number): number => (count === 0 ? 0 : (ms * 1000) / count);
  return {
    times,
    blockP50s,
    cpuUs: {
      off: perRequest(cpu.off, times.off.length),
      on: perRequest(cpu.on, times.on.length),
      before: perRequest(cpu.before, times.before.length),
    },
  };
}

const roleIndex = process.argv.indexOf('--role');
if (roleIndex !== -1) {
  const upstreamIndex = process.argv.indexOf('--upstream');
  await runRole(
    process.argv[roleIndex + 1] as 'upstream' | 'off' | 'on',
    upstreamIndex === -1 ? undefined : process.argv[upstreamIndex + 1],
  );
} else {
  await main();
}

async function main(): Promise<void> {
  const requests = argument('requests', 2000);
  const rounds = argument('rounds', 5);
  const beforeCheckout = textArgument('before');
  const before = beforeCheckout ? await modulesFrom(beforeCheckout) : undefined;
  const µs = (ms: number): string => `${(ms * 1000).toFixed(1)} µs`;
  const hooks = await hookLevel(requests, rounds, before);
  const baseP50 = percentile(hooks.baseline, 50);
  const added50 = percentile(hooks.governed, 50) - baseP50;
  const added99 = percentile(hooks.governed, 99) - percentile(hooks.baseline, 99);
  console.log('governance chain, in-process hooks (same run, alternating rounds)');
  console.log(`  baseline (validate + serialise)  p50 ${µs(baseP50)}  p99 ${µs(percentile(hooks.baseline, 99))}`);
  console.log(
    `  governed (full chain)            p50 ${µs(percentile(hooks.governed, 50))}  p99 ${µs(percentile(hooks.governed, 99))}`,
  );
  console.log(
    `  added: p50 ${added50.toFixed(4)} ms, p99 ${added99.toFixed(4)} ms   (target ≤ 0.2 ms p50: ${added50 <= 0.2 ? 'MET' : 'MISSED'})`,
  );
  console.log(
    `  governed p90 ${µs(percentile(hooks.governed, 90))}, p95 ${µs(percentile(hooks.governed, 95))} (the p99 tail is GC and the shared machine; see p90/p95)`,
  );
  console.log(`  ratio governed/baseline p50: ${(percentile(hooks.governed, 50) / baseP50).toFixed(2)}×`);
  if (before) {
    const beforeAdded = percentile(hooks.before, 50) - baseP50;
    console.log(
      `  --before checkout: governed p50 ${µs(percentile(hooks.before, 50))}, added ${beforeAdded.toFixed(4)} ms; this checkout adds ${(added50 / beforeAdded).toFixed(2)}× as much`,
    );
  }
  const perChunk = streamGuardPerChunk(argument('chunks', 20_000), before);
  console.log('streaming guard per chunk (PII + leakage, 48-char hold-back)');
  console.log(
    `  serialise only ${perChunk.plain.toFixed(2)} µs/chunk, guarded ${perChunk.guarded.toFixed(2)} µs/chunk, added ${(perChunk.guarded - perChunk.plain).toFixed(2)} µs/chunk (${(perChunk.guarded / perChunk.plain).toFixed(2)}×)`,
  );
  if (before) {
    const beforeAdded = perChunk.before - perChunk.plain;
    console.log(
      `  --before checkout: guarded ${perChunk.before.toFixed(2)} µs/chunk, added ${beforeAdded.toFixed(2)} µs/chunk; this checkout adds ${((perChunk.guarded - perChunk.plain) / beforeAdded).toFixed(2)}× as much`,
    );
  }
  const http = await httpLevel(argument('http-requests', 1000), beforeCheckout);
  const offP50 = percentile(http.times.off, 50);
  const onP50 = percentile(http.times.on, 50);
  console.log(
    `through the real router over HTTP (${before ? 'three' : 'two'} router processes, governance on vs off, same run, alternating blocks)`,
  );
  console.log(
    `  off p50 ${offP50.toFixed(3)} ms, on p50 ${onP50.toFixed(3)} ms, added ${(onP50 - offP50).toFixed(3)} ms (${(onP50 / offP50).toFixed(3)}×)   (target ≤ 0.2 ms p50: ${onP50 - offP50 <= 0.2 ? 'MET' : 'MISSED'})`,
  );
  const paired = http.blockP50s.on
    .map((value, index) => value - (http.blockP50s.off[index] ?? Number.NaN))
    .filter(Number.isFinite);
  console.log(
    `  paired blocks (each governed block's p50 minus the ungoverned block run beside it, ${paired.length} pairs): median ${percentile(paired, 50).toFixed(3)} ms, ` +
      `quartiles ${percentile(paired, 25).toFixed(3)}–${percentile(paired, 75).toFixed(3)} ms`,
  );
  console.log(
    `  router CPU per request: off ${http.cpuUs.off.toFixed(0)} µs, on ${http.cpuUs.on.toFixed(0)} µs, added ${(http.cpuUs.on - http.cpuUs.off).toFixed(0)} µs`,
  );
  if (before) {
    const beforeP50 = percentile(http.times.before, 50);
    console.log(
      `  --before checkout: on p50 ${beforeP50.toFixed(3)} ms, added ${(beforeP50 - offP50).toFixed(3)} ms; CPU per request ${http.cpuUs.before.toFixed(0)} µs, added ${(http.cpuUs.before - http.cpuUs.off).toFixed(0)} µs`,
    );
  }
}
