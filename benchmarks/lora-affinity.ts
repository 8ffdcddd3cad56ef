// Multi-adapter LoRA routing: 32 adapters of Llama 3.1 8B with Zipf popularity on 4 simulated vLLM replicas (H100,
// --max-loras 4, --max-cpu-loras 4, adapters read from disk in 300 ms), open-loop Poisson arrivals. The same workload
// runs through the router's own Dispatcher, scheduler, metrics scraper (parsing each replica's real /metrics text,
// vllm:lora_requests_info included) and LoRA loader (single-flight POST /v1/load_lora_adapter semantics), once with the
// default scheduling profile and once with `lora-affinity` added. Every replica starts with no adapter; the router
// loads each adapter where it sends it first.
//
// Time is virtual: the replicas are the simulator's SimEngines on one VirtualClock, and the router's backends are
// in-process transports into those engines (the only stand-in: HTTP), so the run is deterministic and immune to the
// shared machine's load. TTFT = first token − arrival at the dispatcher (adapter loads and slot waits included).
//
//   npx tsx benchmarks/lora-affinity.ts [--rates 10,20] [--requests 1500] [--seed 1] [--weight 3] [--json]
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { MODELS } from '../models/catalog/models.ts';
import { GPUS } from '../models/catalog/gpus.ts';
import { createStepTimeModel } from '../models/step-time.ts';
import { seededRandom } from '../models/random.ts';
import { SimEngine, VirtualClock } from '../models/sim/index.ts';
import { SimMetrics } from '../models/sim/metrics.ts';
import { LoraManager, LoraOptions, createLoraCostModel } from '../models/sim/lora.ts';
import type { BackendRequest, BackendResponse, ChatBackend, StreamChunk } from '../router/backends/contracts.ts';
import { validateConfig } from '../router/config/load.ts';
import type { RouterConfig, VllmPoolConfig } from '../router/config/schema.ts';
import { UpstreamError } from '../core/errors.ts';
import { AdapterCatalog, AdapterLoader, type LoraTransport } from '../router/lora/index.ts';
import { createLoraMetrics } from '../router/lora/metrics.ts';
import { createRouterMetrics } from '../router/observability/metrics.ts';
import { Cancellation } from '../router/resilience/cancellation.ts';
import { Dispatcher } from '../router/routing/dispatcher.ts';
import { RoutePlanner } from '../router/routing/plan.ts';
import { createRequestTimer } from '../router/routing/upstream-body.ts';
import { BackendRegistry } from '../router/pools/backend-registry.ts';
import {
  createMetricsScraper,
  createScheduler,
  DEFAULT_PROFILE,
  type SchedulingProfileInput,
} from '../router/scheduling/index.ts';

const { values: args } = parseArgs({
  options: {
    rates: { type: 'string', default: '10,20' },
    requests: { type: 'string', default: '1500' },
    seed: { type: 'string', default: '1' },
    adapters: { type: 'string', default: '32' },
    replicas: { type: 'string', default: '4' },
    'max-loras': { type: 'string', default: '4' },
    'load-ms': { type: 'string', default: '300' },
    zipf: { type: 'string', default: '1' },
    weight: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});

const BASE = 'llama-3.1-8b';
const MODEL = MODELS[BASE];
const GPU = GPUS.h100;
const ADAPTERS = Number(args.adapters);
const REPLICAS = Number(args.replicas);
const MAX_LORAS = Number(args['max-loras']);
const LOAD_MS = Number(args['load-ms']);
const SCRAPE_MS = 50;
/** Simulated ms per driver tick: async router work between ticks lands at most this late on the virtual timeline. */
const TICK_MS = 1;

interface Replica {
  id: string;
  engine: SimEngine;
  lora: LoraManager;
  metrics: SimMetrics;
}

interface RequestSpec {
  arrivalMs: number;
  adapter: string;
  promptTokens: number;
  outputTokens: number;
}

interface Outcome {
  ttftMs: number;
  outputTokens: number;
  finishedMs: number;
  backend: string;
}

/** Zipf(s) over `n` items, item 0 most popular. */
function zipfSampler(n: number, s: number, random: () => number): () => number {
  const weights = Array.from({ length: n }, (_, index) => 1 / (index + 1) ** s);
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const cumulative: number[] = [];
  let running = 0;
  for (const weight of weights) cumulative.push((running += weight / total));
  return () => {
    const draw = random();
    const index = cumulative.findIndex((edge) => draw < edge);
    return index === -1 ? n - 1 : index;
  };
}

function logNormal(random: () => number, median: number, sigma: number): number {
  const u = Math.max(1e-12, random());
  const v = random();
  return median * Math.exp(sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
}

function workload(rate: number, count: number, seed: number): RequestSpec[] {
  const random = seededRandom(seed);
  const pick = zipfSampler(ADAPTERS, Number(args.zipf), random);
  const specs: RequestSpec[] = [];
  let at = 0;
  for (let index = 0; index < count; index++) {
    at += (-Math.log(Math.max(1e-12, random())) / rate) * 1000;
    specs.push({
      arrivalMs: at,
      adapter: `adapter-${String(pick()).padStart(2, '0')}`,
      promptTokens: Math.min(4000, Math.max(32, Math.round(logNormal(random, 400, 0.6)))),
      outputTokens: Math.min(800, Math.max(8, Math.round(logNormal(random, 120, 0.6)))),
    });
  }
  return specs;
}

/** A pushed-to async iterable: the stream of one request's chunks. */
class ChunkQueue implements AsyncIterable<StreamChunk> {
  private readonly items: StreamChunk[] = [];
  private done = false;
  private waiter: (() => void) | undefined;

  push(chunk: StreamChunk): void {
    this.items.push(chunk);
    this.wake();
  }

  end(): void {
    this.done = true;
    this.wake();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<StreamChunk> {
    for (;;) {
      const next = this.items.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.done) return;
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
  }
}

/** The router's backend contract over an in-process engine: what vLLM's HTTP server would do with the request. */
function engineBackend(
  replica: Replica,
  firstTokens: Map<string, number>,
  prompts: Map<string, RequestSpec>,
): ChatBackend {
  let counter = 0;
  return {
    id: replica.id,
    kind: 'vllm',
    url: `http://${replica.id}.invalid:8000`,
    send(request: BackendRequest): Promise<BackendResponse> {
      const model = String(request.body['model']);
      if (model !== BASE && !replica.lora.has(model)) {
        return Promise.reject(new UpstreamError(`The model \`${model}\` does not exist.`, 404, false, { status: 404 }));
      }
      const spec = prompts.get(request.requestId)!;
      const queue = new ChunkQueue();
      const random = seededRandom(counter++);
      replica.engine.submit(
        {
          id: `${request.requestId}-${counter}`,
          promptTokens: Array.from({ length: spec.promptTokens }, () => Math.floor(random() * 100_000)),
          outputTokens: spec.outputTokens,
          ...(model !== BASE ? { lora: model } : {}),
        },
        {
          onToken: (index, atMs) => {
            if (index === 0 && !firstTokens.has(request.requestId)) firstTokens.set(request.requestId, atMs);
            queue.push({ choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null }] });
          },
          onFinish: () => queue.end(),
        },
      );
      return Promise.resolve({ streamed: true, chunks: queue });
    },
    close: () => Promise.resolve(),
  };
}

interface RunResult {
  profile: string;
  rate: number;
  ttftP50: number;
  ttftP99: number;
  throughput: number;
  routerLoadsPerMin: number;
  diskReadsPerMin: number;
  completed: number;
  failed: number;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function run(
  profileName: string,
  profile: SchedulingProfileInput,
  rate: number,
  specs: readonly RequestSpec[],
): Promise<RunResult> {
  const clock = new VirtualClock();
  const now = (): number => clock.now();
  const stepTime = createStepTimeModel({ model: MODEL, gpu: GPU });
  const loraOptions = LoraOptions.parse({ maxLoras: MAX_LORAS, loadMs: LOAD_MS, runtimeUpdating: true });
  const replicas: Replica[] = Array.from({ length: REPLICAS }, (_, index) => {
    const lora = new LoraManager(loraOptions, BASE, createLoraCostModel(MODEL, GPU, 1));
    const engine = new SimEngine({
      clock,
      stepTime,
      totalBlocks: 20_000,
      maxNumSeqs: 256,
      maxNumBatchedTokens: 8192,
      lora,
    });
    const metrics = new SimMetrics({
      modelName: BASE,
      generation: 'current',
      maxModelLen: 32_768,
      cacheConfig: { blockSize: 16, numGpuBlocks: 20_000, gpuMemoryUtilization: 0.9, enablePrefixCaching: true },
      stats: () => engine.stats(),
      maxLoras: MAX_LORAS,
    });
    engine.addObserver(metrics);
    return { id: `replica-${index}`, engine, lora, metrics };
  });
  const byUrl = new Map(replicas.map((replica) => [`http://${replica.id}.invalid:8000`, replica]));
  const adapters = Array.from({ length: ADAPTERS }, (_, index) => `adapter-${String(index).padStart(2, '0')}`);
  const config: RouterConfig = validateConfig(
    {
      pools: [
        {
          name: 'pool',
          kind: 'vllm',
          model: BASE,
          gpu: 'h100',
          backends: replicas.map((replica) => ({ id: replica.id, url: `http://${replica.id}.invalid:8000` })),
        },
      ],
      models: [{ name: BASE, route: ['pool'] }],
      lora: {
        adapters: adapters.map((name) => ({ name, base: BASE, path: `sim://${name}?rank=16` })),
        discover: false,
      },
      scheduling: { ...profile, scrapeIntervalMs: SCRAPE_MS, staleAfterMs: 500 },
    },
    'lora-benchmark',
    {},
  );
  const pool = config.pools[0] as VllmPoolConfig;
  const firstTokens = new Map<string, number>();
  const prompts = new Map<string, RequestSpec>();
  const registry = new BackendRegistry({ clock: now });
  for (const replica of replicas) {
    registry.add(engineBackend(replica, firstTokens, prompts), pool, [BASE], config.circuitBreaker, stepTime, 1);
  }
  const scraper = createMetricsScraper({
    backends: replicas.map((replica) => ({
      id: replica.id,
      url: `http://${replica.id}.invalid:8000`,
      modelName: BASE,
    })),
    intervalMs: SCRAPE_MS,
    staleAfterMs: 500,
    clock: now,
    fetch: async (url) => {
      const replica = byUrl.get(url.replace(/\/metrics$/, ''))!;
      const text = await replica.metrics.render();
      return { ok: true, status: 200, text: () => Promise.resolve(text) };
    },
  });
  registry.setScraper(scraper);
  const metrics = createRouterMetrics(registry, { processMetrics: false, pools: config.pools });
  const catalog = new AdapterCatalog(config.lora!.adapters, new Set([BASE]));
  // The replica side of POST /v1/load_lora_adapter: register, stall the engine for the disk read, answer when done.
  let routerLoads = 0;
  const transport: LoraTransport = (replicaUrl, _path, body) => {
    const replica = byUrl.get(replicaUrl)!;
    const name = String(body['lora_name']);
    if (replica.lora.has(name))
      return Promise.resolve({ status: 400, text: `The lora adapter '${name}' has already been loaded.` });
    routerLoads++;
    const readMs = replica.lora.register(name, String(body['lora_path']));
    const doneAt = replica.engine.stall(readMs);
    return new Promise((resolve) =>
      clock.setTimer(doneAt - clock.now(), () => resolve({ status: 200, text: 'Success' })),
    );
  };
  const loader = new AdapterLoader({
    catalog,
    metrics: createLoraMetrics(new Registry(), catalog, registry),
    transport,
    loadOnDemand: true,
    loadTimeoutMs: 30_000,
    clock: now,
  });
  const scheduler = createScheduler(config.scheduling, {
    clock: now,
    registry: new Registry(),
    random: seededRandom(7),
  });
  const dispatcher = new Dispatcher({
    registry,
    scheduler,
    metrics,
    retries: config.retries,
    adapters: loader,
    random: seededRandom(9),
  });
  const planner = new RoutePlanner(config, catalog);

  const outcomes: Outcome[] = [];
  let failed = 0;
  let inFlight = 0;
  const serve = async (spec: RequestSpec, index: number): Promise<void> => {
    const requestId = `req-${index}`;
    prompts.set(requestId, spec);
    const body = {
      model: spec.adapter,
      messages: [{ role: 'user', content: '…' }],
      max_tokens: spec.outputTokens,
      stream: true,
    };
    const plan = planner.plan(spec.adapter, body);
    inFlight++;
    try {
      const result = await dispatcher.dispatch({
        endpoint: 'chat',
        body,
        plan,
        scheduling: { requestId, promptTokens: spec.promptTokens, prefixBlockHashes: [] },
        requestId,
        signal: new Cancellation(),
        timer: createRequestTimer(),
      });
      if (result.streamed) {
        for (let next = await result.rest.next(); !next.done; next = await result.rest.next()) {
          // drain: the engine paces the tokens
        }
      }
      result.lease.finish('success');
      outcomes.push({
        ttftMs: (firstTokens.get(requestId) ?? clock.now()) - spec.arrivalMs,
        outputTokens: spec.outputTokens,
        finishedMs: clock.now(),
        backend: result.lease.entry.state.id,
      });
    } catch {
      failed++;
    } finally {
      inFlight--;
    }
  };

  await scraper.scrapeOnce();
  let nextScrape = SCRAPE_MS;
  let next = 0;
  const horizon = (specs.at(-1)?.arrivalMs ?? 0) + 600_000;
  while ((next < specs.length || inFlight > 0) && clock.now() < horizon) {
    const target = Math.min(clock.now() + TICK_MS, specs[next]?.arrivalMs ?? Infinity, nextScrape);
    clock.advance(Math.max(0, target - clock.now()));
    await flush();
    if (clock.now() >= nextScrape) {
      await scraper.scrapeOnce();
      nextScrape += SCRAPE_MS;
    }
    while (next < specs.length && specs[next]!.arrivalMs <= clock.now()) {
      void serve(specs[next]!, next);
      next++;
    }
    await flush();
  }
  scraper.stop();
  const durationMin = Math.max(...outcomes.map((outcome) => outcome.finishedMs)) / 60_000;
  const tokens = outcomes.reduce((sum, outcome) => sum + outcome.outputTokens, 0);
  const diskReads = replicas.reduce((sum, replica) => sum + replica.lora.diskLoads, 0);
  const ttfts = outcomes.map((outcome) => outcome.ttftMs);
  return {
    profile: profileName,
    rate,
    ttftP50: percentile(ttfts, 50),
    ttftP99: percentile(ttfts, 99),
    throughput: tokens / (durationMin * 60),
    routerLoadsPerMin: routerLoads / durationMin,
    diskReadsPerMin: diskReads / durationMin,
    completed: outcomes.length,
    failed,
  };
}

async function main(): Promise<void> {
  const rates = args.rates.split(',').map(Number);
  const count = Number(args.requests);
  const seed = Number(args.seed);
  const withLora: SchedulingProfileInput = {
    scorers: [...DEFAULT_PROFILE.scorers, { type: 'lora-affinity', weight: Number(args.weight), recentMs: 500 }],
  };
  const results: RunResult[] = [];
  for (const rate of rates) {
    const specs = workload(rate, count, seed);
    for (const [name, profile] of [
      ['default (no LoRA scorer)', {}],
      ['default + lora-affinity', withLora],
    ] as const) {
      const started = performance.now();
      const result = await run(name, profile, rate, specs);
      results.push(result);
      if (!args.json) {
        console.error(
          `rate ${rate}/s ${name}: ${result.completed} done, ${result.failed} failed, ${((performance.now() - started) / 1000).toFixed(1)} s wall`,
        );
      }
    }
  }
  if (args.json) {
    console.log(JSON.stringify(results, null, 2));
    return;
  }
  const fmt = (value: number, digits = 0): string =>
    value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  console.log(
    `${ADAPTERS} adapters (Zipf ${args.zipf}), ${REPLICAS}× H100 Llama 3.1 8B, max_loras ${MAX_LORAS}, load ${LOAD_MS} ms, ${count} requests, seed ${seed}`,
  );
  console.log('| rate | profile | TTFT p50 | TTFT p99 | throughput | router loads/min | disk reads/min | p99 ratio |');
  console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const result of results) {
    const baseline = results.find((other) => other.rate === result.rate && other.profile.startsWith('default (no'))!;
    const ratio = result === baseline ? '—' : `**${fmt(baseline.ttftP99 / result.ttftP99, 2)}× lower**`;
    console.log(
      `| ${result.rate}/s | ${result.profile} | ${fmt(result.ttftP50)} ms | ${fmt(result.ttftP99)} ms | ${fmt(result.throughput)} tok/s | ${fmt(result.routerLoadsPerMin, 1)} | ${fmt(result.diskReadsPerMin, 1)} | ${ratio} |`,
    );
  }
}

await main();
