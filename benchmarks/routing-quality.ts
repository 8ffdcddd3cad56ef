// Routing quality on the simulator: round robin vs the GPU-aware scheduling profile over 4 simulated vLLM replicas
// (Llama 3.1 8B on H100), on one seeded, skewed workload — shared system prompts with Zipf popularity, long unique
// documents, mostly short answers with a heavy tail — under open-loop Poisson arrivals. Reports TTFT p50/p99,
// throughput and prefix-cache hit rate per profile and the ratios against round robin (target: ≥ 2× lower TTFT p99).
// In virtual mode it also measures the TTFT floor (every request alone on an idle replica, best cache state): round
// robin's p99 over the floor's p99 is the most any scheduler could reach at that rate.
//
// Requests go through a small in-benchmark dispatcher that drives router/scheduling directly (scheduler, metrics
// scrapes, router-side in-flight and prefill counters, prefix hashes), not the full router's HTTP front: this
// isolates the routing decision, which is what differs between profiles. Two transports:
//   --mode virtual (default)  four models/sim SimEngines on one virtual clock; the dispatcher "scrapes" each engine's
//                             stats every scrapeIntervalMs of simulated time. Deterministic, immune to machine load.
//   --mode http               four real simulator replicas (startSimReplica) over HTTP with the real /metrics
//                             scraper; timings then include host lag on a shared machine (noisy on 2 busy cores).
//
//   npx tsx benchmarks/routing-quality.ts [--mode virtual|http] [--requests 600] [--rates 60,70,80] [--seed 1]
//        [--profiles round-robin,gpu-aware,v1-default,llm-d,bounded-affinity] [--learn-at admit|served]
//        [--kv-blocks 8000] [--speed 2] [--custom '{"name": <profile>}'] [--json]
import { parseArgs } from 'node:util';
import { Agent, request as undiciRequest } from 'undici';
import { getModel } from '../models/catalog/models.ts';
import { GPUS } from '../models/catalog/gpus.ts';
import { createStepTimeModel } from '../models/step-time.ts';
import { SimEngine, VirtualClock, chatPromptTokens, pseudoText, startSimReplica } from '../models/sim/index.ts';
import type { SimReplica } from '../models/sim/index.ts';
import {
  SchedulingProfileConfig,
  computePrefixBlockHashes,
  createMetricsScraper,
  createScheduler,
  DEFAULT_PROFILE,
  estimateUncachedPromptTokens,
  ROUND_ROBIN_PROFILE,
} from '../router/scheduling/index.ts';
import type { BackendState, EndpointMetrics, SchedulingRequest } from '../router/scheduling/index.ts';
import { seededRandom } from '../models/random.ts';
import { ttftFloor } from './routing-quality-floor.ts';

const { values: args } = parseArgs({
  options: {
    mode: { type: 'string', default: 'virtual' },
    requests: { type: 'string', default: '600' },
    /** Arrival rates to sweep, requests per simulated second. */
    rates: { type: 'string', default: '60,70,80' },
    seed: { type: 'string', default: '1' },
    replicas: { type: 'string', default: '4' },
    /** KV blocks per replica (16 tokens each): four copies of every system prompt plus the documents do not fit. */
    'kv-blocks': { type: 'string', default: '8000' },
    /** Distinct shared system prompts (1–3K tokens each, Zipf popularity): the prefix working set. */
    'system-prompts': { type: 'string', default: '48' },
    /** http mode only: simulated time runs this much faster than real time. */
    speed: { type: 'string', default: '2' },
    profiles: { type: 'string', default: 'round-robin,gpu-aware,v1-default,llm-d' },
    /** Extra profiles to try, as JSON {"name": <scheduling profile>, ...}; list their names in --profiles. */
    custom: { type: 'string', default: '{}' },
    /** When the dispatcher tells the scheduler where a prompt went: on admission (and success), or only on success. */
    'learn-at': { type: 'string', default: 'admit' },
    json: { type: 'boolean', default: false },
  },
});

const MODEL = 'llama-3.1-8b';
const MODE = args.mode === 'http' ? 'http' : 'virtual';
const REQUESTS = Number(args.requests);
const RATES = args.rates.split(',').map(Number);
const SEED = Number(args.seed);
const REPLICAS = Number(args.replicas);
const KV_BLOCKS = Number(args['kv-blocks']);
const SPEED = Number(args.speed);
const SYSTEM_PROMPTS = Number(args['system-prompts']);
const LEARN_AT = args['learn-at'] === 'served' ? 'served' : 'admit';
/** Hard stop for one http-mode run, real time. */
const RUN_TIMEOUT_MS = 300_000;

const PROFILES: Record<string, SchedulingProfileConfig> = {
  'round-robin': ROUND_ROBIN_PROFILE,
  /** The default: 3·prefix-affinity + 3·predicted-ttft + 1·in-flight. */
  'gpu-aware': DEFAULT_PROFILE,
  /** llm-d's endpoint-picker weights alone (2·queue + 2·(1−KV) + 3·prefix). */
  'llm-d': SchedulingProfileConfig.parse({
    scorers: [
      { type: 'queue', weight: 2 },
      { type: 'kv-cache', weight: 2 },
      { type: 'prefix-affinity', weight: 3 },
    ],
  }),
  /** The previous default: llm-d's weights + in-flight (1) + min-max prefill-work (3), no pending-prefill limit. */
  'v1-default': SchedulingProfileConfig.parse({
    filters: ['healthy', 'serves-model', 'circuit-closed', { type: 'not-saturated', maxPendingPrefillTokens: 1_000_000_000 }],
    scorers: [
      { type: 'queue', weight: 2 },
      { type: 'kv-cache', weight: 2 },
      { type: 'prefix-affinity', weight: 3 },
      { type: 'in-flight', weight: 1 },
      { type: 'prefill-work', weight: 3 },
    ],
  }),
  /** The default with affinity only within 2× of the fastest predicted TTFT (llm-d's "prefix-aware with load balancing"). */
  'bounded-affinity': SchedulingProfileConfig.parse({
    scorers: [
      { type: 'bounded-prefix-affinity', weight: 3, maxTtftRatio: 2 },
      { type: 'predicted-ttft', weight: 3 },
      { type: 'in-flight', weight: 1 },
    ],
  }),
};

interface WorkItem {
  /** Simulated ms after the start. */
  arrivalMs: number;
  messages: Array<{ role: 'system' | 'user'; content: string }>;
  promptTokens: number;
  maxTokens: number;
  kind: 'shared-prefix' | 'long-document';
}

/** The seeded workload: the same requests, in the same order, for every profile at a given rate. */
function buildWorkload(seed: number, rate: number): WorkItem[] {
  const random = seededRandom(seed);
  const systemPrompts = Array.from({ length: SYSTEM_PROMPTS }, (_, index) => {
    const tokens = 1_000 + Math.floor(random() * 2_000);
    return { content: pseudoText(10_000 + index, tokens), tokens };
  });
  const popularity = systemPrompts.map((_, index) => 1 / (index + 1)); // Zipf
  const popularityTotal = popularity.reduce((sum, weight) => sum + weight, 0);
  const pickSystem = (): number => {
    let target = random() * popularityTotal;
    for (let index = 0; index < popularity.length; index++) {
      target -= popularity[index]!;
      if (target < 0) return index;
    }
    return popularity.length - 1;
  };
  const items: WorkItem[] = [];
  let clock = 0;
  for (let index = 0; index < REQUESTS; index++) {
    clock += (-Math.log(1 - random()) / rate) * 1_000;
    const longDocument = random() < 0.2;
    const maxTokens = random() < 0.8 ? 20 + Math.floor(random() * 130) : 300 + Math.floor(random() * 500);
    if (longDocument) {
      const tokens = 2_000 + Math.floor(random() * 4_000);
      items.push({
        arrivalMs: clock,
        messages: [{ role: 'user', content: pseudoText(1_000_000 + index, tokens) }],
        promptTokens: tokens,
        maxTokens,
        kind: 'long-document',
      });
    } else {
      const system = systemPrompts[pickSystem()]!;
      const userTokens = 20 + Math.floor(random() * 180);
      items.push({
        arrivalMs: clock,
        messages: [
          { role: 'system', content: system.content },
          { role: 'user', content: pseudoText(2_000_000 + index, userTokens) },
        ],
        promptTokens: system.tokens + userTokens,
        maxTokens,
        kind: 'shared-prefix',
      });
    }
  }
  return items;
}

// ---------------------------------------------------------------- transports

interface Callbacks {
  onFirstToken(): void;
  onDone(outcome: { ok: boolean; ttftMs: number; e2eMs: number }): void;
}

/** Four replicas behind one interface: simulated time, latest scraped metrics, send a request. */
interface Fleet {
  readonly ids: readonly string[];
  /** Simulated ms. */
  now(): number;
  scraped(id: string): { metrics?: EndpointMetrics; stale: boolean };
  send(id: string, item: WorkItem, callbacks: Callbacks): void;
  /** Run the arrivals (calls `dispatch` at each item's arrival time) and wait until every request finished. */
  run(workload: readonly WorkItem[], dispatch: (item: WorkItem, index: number) => void): Promise<void>;
  prefixCache(): Promise<{ queries: number; hits: number; preemptions: number }>;
  close(): Promise<void>;
}

function createVirtualFleet(scrapeIntervalMs: number): Fleet {
  const clock = new VirtualClock();
  const model = getModel(MODEL);
  const stepTime = createStepTimeModel({ model, gpu: GPUS.h100, tensorParallel: 1, dtype: 'bf16' });
  const ids = Array.from({ length: REPLICAS }, (_, index) => `replica-${index}`);
  const engines = ids.map(
    () => new SimEngine({ clock, stepTime, totalBlocks: KV_BLOCKS, maxNumSeqs: 256, maxNumBatchedTokens: 8_192 }),
  );
  const scrapes = new Map<string, EndpointMetrics>();
  let outstanding = 0;
  let arrivalsLeft = 0;
  const scrape = (): void => {
    engines.forEach((engine, index) => {
      const stats = engine.stats();
      scrapes.set(ids[index]!, {
        requestsRunning: stats.running,
        requestsWaiting: stats.waiting,
        kvCacheUsage: stats.kvUsage,
        prefixCacheQueries: stats.prefixQueryTokens,
        prefixCacheHits: stats.prefixHitTokens,
        scrapedAt: clock.now(),
      });
    });
    if (outstanding > 0 || arrivalsLeft > 0) clock.setTimer(scrapeIntervalMs, scrape);
  };
  let requestCounter = 0;
  return {
    ids,
    now: () => clock.now(),
    scraped: (id) => {
      const metrics = scrapes.get(id);
      return metrics ? { metrics, stale: false } : { stale: true };
    },
    send(id, item, callbacks) {
      const engine = engines[ids.indexOf(id)]!;
      const arrival = clock.now();
      let ttft = NaN;
      outstanding++;
      engine.submit(
        { id: `r${requestCounter++}`, promptTokens: chatPromptTokens(item.messages), outputTokens: item.maxTokens },
        {
          onToken(index, atMs) {
            if (index !== 0) return;
            ttft = atMs - arrival;
            callbacks.onFirstToken();
          },
          onFinish(cause, timings) {
            outstanding--;
            callbacks.onDone({ ok: cause === 'completed', ttftMs: ttft, e2eMs: timings.finishedMs - arrival });
          },
        },
      );
    },
    async run(workload, dispatch) {
      arrivalsLeft = workload.length;
      scrape();
      let next = 0;
      const arrive = (): void => {
        dispatch(workload[next]!, next);
        next++;
        arrivalsLeft--;
        if (next < workload.length) clock.setTimer(workload[next]!.arrivalMs - clock.now(), arrive);
      };
      if (workload.length > 0) clock.setTimer(workload[0]!.arrivalMs, arrive);
      clock.runAll(50_000_000);
    },
    async prefixCache() {
      const stats = engines.map((engine) => engine.stats());
      return {
        queries: stats.reduce((sum, stat) => sum + stat.prefixQueryTokens, 0),
        hits: stats.reduce((sum, stat) => sum + stat.prefixHitTokens, 0),
        preemptions: stats.reduce((sum, stat) => sum + stat.preemptions, 0),
      };
    },
    async close() {
      for (const engine of engines) engine.shutdown();
    },
  };
}

async function createHttpFleet(profile: SchedulingProfileConfig): Promise<Fleet> {
  const replicas: SimReplica[] = await Promise.all(
    Array.from({ length: REPLICAS }, () => startSimReplica({ model: MODEL, gpu: 'h100', speed: SPEED, kvBlocks: KV_BLOCKS })),
  );
  const ids = replicas.map((_, index) => `replica-${index}`);
  const agent = new Agent({ connections: 512 });
  const scraper = createMetricsScraper({
    backends: replicas.map((replica, index) => ({ id: ids[index]!, url: replica.url, modelName: MODEL })),
    intervalMs: Math.max(10, Math.round(profile.scrapeIntervalMs / SPEED)),
    // Judged in real time: a host busy with other work answers scrapes late without the replica being in trouble.
    staleAfterMs: Math.max(1_000, Math.round(profile.staleAfterMs / SPEED)),
  });
  await scraper.start();
  const origin = performance.now();
  const pending: Array<Promise<void>> = [];
  const send = async (replica: SimReplica, item: WorkItem, callbacks: Callbacks): Promise<void> => {
    const started = performance.now();
    let ttft = NaN;
    try {
      const response = await undiciRequest(`${replica.url}/v1/chat/completions`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, messages: item.messages, max_tokens: item.maxTokens, ignore_eos: true, stream: true }),
      });
      if (response.statusCode !== 200) {
        await response.body.dump();
        callbacks.onDone({ ok: false, ttftMs: NaN, e2eMs: NaN });
        return;
      }
      let tail = '';
      for await (const chunk of response.body) {
        if (!Number.isNaN(ttft)) continue;
        tail += (chunk as Buffer).toString('utf8');
        if (/"content":"[^"]/.test(tail)) {
          ttft = (performance.now() - started) * SPEED;
          callbacks.onFirstToken();
        } else tail = tail.slice(-64);
      }
      callbacks.onDone({ ok: !Number.isNaN(ttft), ttftMs: ttft, e2eMs: (performance.now() - started) * SPEED });
    } catch {
      callbacks.onDone({ ok: false, ttftMs: ttft, e2eMs: NaN });
    }
  };
  return {
    ids,
    now: () => (performance.now() - origin) * SPEED,
    scraped: (id) => scraper.snapshot(id),
    send(id, item, callbacks) {
      pending.push(send(replicas[ids.indexOf(id)]!, item, callbacks));
    },
    async run(workload, dispatch) {
      const started = performance.now();
      for (let index = 0; index < workload.length; index++) {
        const wait = started + workload[index]!.arrivalMs / SPEED - performance.now();
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
        if (performance.now() - started > RUN_TIMEOUT_MS) break;
        dispatch(workload[index]!, index);
      }
      await Promise.race([Promise.all(pending), new Promise((resolve) => setTimeout(resolve, RUN_TIMEOUT_MS).unref())]);
    },
    async prefixCache() {
      const stats = await Promise.all(replicas.map((replica) => replica.stats()));
      return {
        queries: stats.reduce((sum, stat) => sum + stat.prefixQueryTokens, 0),
        hits: stats.reduce((sum, stat) => sum + stat.prefixHitTokens, 0),
        preemptions: stats.reduce((sum, stat) => sum + stat.preemptions, 0),
      };
    },
    async close() {
      scraper.stop();
      await Promise.all(replicas.map((replica) => replica.close()));
      await agent.close();
    },
  };
}

// ---------------------------------------------------------------- dispatcher and measurement

interface ProfileResult {
  profile: string;
  rate: number;
  completed: number;
  failed: number;
  forcedPicks: number;
  drops: Record<string, number>;
  ttftP50: number;
  ttftP99: number;
  ttftP99Shared: number;
  ttftP99Long: number;
  e2eP50: number;
  throughputTokensPerSecond: number;
  prefixHitRate: number;
  preemptions: number;
  perReplica: Record<string, number>;
  decideMicros: number;
}

function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))]!;
}

async function runProfile(name: string, rate: number, workload: readonly WorkItem[]): Promise<ProfileResult> {
  const profile = PROFILES[name]!;
  const fleet = MODE === 'virtual' ? createVirtualFleet(profile.scrapeIntervalMs) : await createHttpFleet(profile);
  const scheduler = createScheduler(profile);
  const states: BackendState[] = fleet.ids.map((id) => ({
    id,
    pool: 'bench',
    kind: 'vllm',
    url: id,
    models: [MODEL],
    healthy: true,
    circuit: 'closed',
    inFlightRequests: 0,
    inFlightTokens: 0,
    pendingPrefillTokens: 0,
    metricsStale: true,
    relativeCost: 1,
  }));
  const outcomes: Array<{ ok: boolean; ttftMs: number; e2eMs: number; item: WorkItem; backend: string }> = [];
  const drops: Record<string, number> = {};
  let forcedPicks = 0;
  const started = fleet.now();
  let lastDone = started;

  const dispatch = (item: WorkItem, index: number): void => {
    for (const state of states) {
      const snapshot = fleet.scraped(state.id);
      if (snapshot.metrics) state.metrics = snapshot.metrics;
      state.metricsStale = snapshot.stale;
    }
    const request: SchedulingRequest = {
      requestId: `req-${index}`,
      model: MODEL,
      promptTokens: item.promptTokens,
      prefixBlockHashes: computePrefixBlockHashes(item.messages, profile.prefixBlockTokens),
    };
    const result = scheduler.schedule(request, states);
    for (const filter of Object.values(result.droppedBy)) drops[filter] = (drops[filter] ?? 0) + 1;
    // No spill-over target here: when everything is saturated, queue on the profile's best saturated replica
    // (what the router does for a route without a fallback), and count it.
    const choice = result.picked ?? result.bestSaturated;
    if (!result.picked) forcedPicks++;
    const state = choice
      ? states.find((candidate) => candidate.id === choice.backend.id)!
      : [...states].sort((a, b) => a.inFlightTokens - b.inFlightTokens)[0]!;
    // What the router core does on admit: in-flight counters, and the prefill this request adds (uncached part).
    const tokens = item.promptTokens + item.maxTokens;
    const prefill = estimateUncachedPromptTokens(request, choice, profile.prefixBlockTokens);
    state.inFlightRequests++;
    state.inFlightTokens += tokens;
    state.pendingPrefillTokens! += prefill;
    const chosen = state;
    // Learn where the prefix goes at admission, not only after the response: requests sharing it that arrive while
    // this one is still running then follow it (what the router core does on admit; recordServed again on success).
    if (LEARN_AT === 'admit') scheduler.recordServed(request, chosen.id);
    let prefillPending = true;
    const prefillDone = (): void => {
      if (!prefillPending) return;
      prefillPending = false;
      chosen.pendingPrefillTokens! -= prefill;
    };
    fleet.send(chosen.id, item, {
      onFirstToken: prefillDone,
      onDone(outcome) {
        prefillDone();
        chosen.inFlightRequests--;
        chosen.inFlightTokens -= tokens;
        if (outcome.ok) scheduler.recordServed(request, chosen.id);
        lastDone = fleet.now();
        outcomes.push({ ...outcome, item, backend: chosen.id });
      },
    });
  };

  await fleet.run(workload, dispatch);
  const cache = await fleet.prefixCache();
  await fleet.close();

  const good = outcomes.filter((outcome) => outcome.ok);
  const ttfts = (kind?: WorkItem['kind']) =>
    good.filter((outcome) => kind === undefined || outcome.item.kind === kind).map((outcome) => outcome.ttftMs);
  const perReplica: Record<string, number> = {};
  for (const outcome of good) perReplica[outcome.backend] = (perReplica[outcome.backend] ?? 0) + 1;
  const makespanSeconds = (lastDone - started) / 1_000;
  return {
    profile: name,
    rate,
    completed: good.length,
    failed: workload.length - good.length,
    forcedPicks,
    drops,
    ttftP50: percentile(ttfts(), 0.5),
    ttftP99: percentile(ttfts(), 0.99),
    ttftP99Shared: percentile(ttfts('shared-prefix'), 0.99),
    ttftP99Long: percentile(ttfts('long-document'), 0.99),
    e2eP50: percentile(good.map((outcome) => outcome.e2eMs), 0.5),
    throughputTokensPerSecond: good.reduce((sum, outcome) => sum + outcome.item.maxTokens, 0) / makespanSeconds,
    prefixHitRate: cache.queries > 0 ? cache.hits / cache.queries : 0,
    preemptions: cache.preemptions,
    perReplica,
    decideMicros: measureDecisionCost(profile, workload),
  };
}

/**
 * CPU cost of one routing decision as the router pays it (prefix hashing + schedule + recordServed), replayed over
 * the workload against four fixed backend states, outside the simulation so engine work and GC do not land in it.
 */
function measureDecisionCost(profile: SchedulingProfileConfig, workload: readonly WorkItem[]): number {
  const scheduler = createScheduler(profile);
  const states: BackendState[] = Array.from({ length: REPLICAS }, (_, index) => ({
    id: `replica-${index}`,
    pool: 'bench',
    kind: 'vllm' as const,
    url: `replica-${index}`,
    models: [MODEL],
    healthy: true,
    circuit: 'closed' as const,
    inFlightRequests: index,
    inFlightTokens: index * 1_000,
    pendingPrefillTokens: index * 500,
    metrics: { requestsRunning: 8, requestsWaiting: index, kvCacheUsage: 0.2 + index / 10, prefixCacheQueries: 0, prefixCacheHits: 0, scrapedAt: 0 },
    metricsStale: false,
    relativeCost: 1,
  }));
  const once = (): number => {
    const started = performance.now();
    workload.forEach((item, index) => {
      const request: SchedulingRequest = {
        requestId: `cost-${index}`,
        model: MODEL,
        promptTokens: item.promptTokens,
        prefixBlockHashes: computePrefixBlockHashes(item.messages, profile.prefixBlockTokens),
      };
      const result = scheduler.schedule(request, states);
      if (result.picked) scheduler.recordServed(request, result.picked.backend.id);
    });
    return ((performance.now() - started) * 1_000) / workload.length;
  };
  once(); // warm up (JIT, affinity tables)
  return Math.min(once(), once());
}

function formatRow(result: ProfileResult): string {
  const ms = (value: number) => `${value.toFixed(0)} ms`.padStart(9);
  return [
    `${result.rate}/s`.padStart(5),
    result.profile.padEnd(16),
    ms(result.ttftP50),
    ms(result.ttftP99),
    ms(result.ttftP99Shared),
    ms(result.ttftP99Long),
    `${result.throughputTokensPerSecond.toFixed(0)} tok/s`.padStart(11),
    `${(result.prefixHitRate * 100).toFixed(1)} %`.padStart(8),
    `${result.completed}/${result.completed + result.failed}`.padStart(8),
    String(result.preemptions).padStart(7),
    String(result.forcedPicks).padStart(6),
    `${result.decideMicros.toFixed(0)} µs`.padStart(7),
  ].join(' ');
}

async function main(): Promise<void> {
  for (const [name, profile] of Object.entries(JSON.parse(args.custom) as Record<string, unknown>)) {
    PROFILES[name] = SchedulingProfileConfig.parse(profile);
  }
  const profileNames = args.profiles.split(',').map((name) => name.trim());
  const unknown = profileNames.filter((name) => !(name in PROFILES));
  if (unknown.length > 0 || !profileNames.includes('round-robin')) {
    throw new Error(`--profiles: unknown ${unknown.join(', ') || '(none)'}; need round-robin plus any of ${Object.keys(PROFILES).join(', ')}`);
  }
  const results: ProfileResult[] = [];
  const floors = new Map<number, number>();
  for (const rate of RATES) {
    const workload = buildWorkload(SEED, rate);
    if (MODE === 'virtual') floors.set(rate, percentile(ttftFloor(workload, MODEL, KV_BLOCKS), 0.99));
    for (const name of profileNames) results.push(await runProfile(name, rate, workload));
  }
  const ratios = results
    .filter((result) => result.profile !== 'round-robin')
    .map((result) => {
      const baseline = results.find((other) => other.profile === 'round-robin' && other.rate === result.rate)!;
      return {
        profile: result.profile,
        rate: result.rate,
        ttftP99: baseline.ttftP99 / result.ttftP99,
        ttftP50: baseline.ttftP50 / result.ttftP50,
        throughput: result.throughputTokensPerSecond / baseline.throughputTokensPerSecond,
        prefixHitRate: result.prefixHitRate / Math.max(1e-9, baseline.prefixHitRate),
        /** Round robin's p99 over the floor's: the most any profile could reach (virtual mode). */
        bestPossible: baseline.ttftP99 / (floors.get(result.rate) ?? NaN),
      };
    });
  if (args.json) {
    const workload = { mode: MODE, requests: REQUESTS, rates: RATES, seed: SEED, replicas: REPLICAS, kvBlocks: KV_BLOCKS, systemPrompts: SYSTEM_PROMPTS };
    console.log(JSON.stringify({ ...workload, results, ratios, ttftFloorP99: Object.fromEntries(floors) }, null, 2));
    return;
  }
  console.log(
    `routing quality (${MODE === 'virtual' ? 'virtual time: SimEngines on one virtual clock' : `real HTTP replicas, speed ×${SPEED}`}): ` +
      `${REPLICAS} replicas of llama-3.1-8b on H100 with ${KV_BLOCKS} KV blocks each; ${REQUESTS} requests per run, ` +
      `Poisson arrivals, 80 % chat over ${SYSTEM_PROMPTS} shared system prompts (1–3K tokens, Zipf), 20 % unique documents (2–6K tokens), ` +
      `80 % of answers 20–150 tokens and 20 % 300–800; seed ${SEED}`,
  );
  console.log(`dispatch: in-benchmark dispatcher driving router/scheduling directly (not the full router); prefixes learned on ${LEARN_AT === 'admit' ? 'admission and success' : 'success only'}`);
  console.log('times are simulated GPU time; TTFT = first output token');
  console.log('decide = CPU per routing decision (prefix hashing + schedule + recordServed), replayed outside the simulation');
  console.log(' rate profile           TTFT p50  TTFT p99  p99 chat  p99 docs  throughput  prefix-hit completed preempt forced  decide');
  for (const result of results) console.log(formatRow(result));
  for (const [rate, floor] of floors) {
    const baseline = results.find((result) => result.profile === 'round-robin' && result.rate === rate)!;
    console.log(
      `${String(rate).padStart(3)}/s floor (each request alone on an idle replica, its system prompt cached if used before): TTFT p99 ` +
        `${floor.toFixed(0)} ms, so no profile can be more than ${(baseline.ttftP99 / floor).toFixed(2)}× lower than round robin here`,
    );
  }
  console.log('');
  for (const ratio of ratios) {
    console.log(
      `${String(ratio.rate).padStart(3)}/s ${ratio.profile.padEnd(16)} vs round-robin: TTFT p99 ${ratio.ttftP99.toFixed(2)}× lower, ` +
        `p50 ${ratio.ttftP50.toFixed(2)}× lower, throughput ${ratio.throughput.toFixed(2)}×, prefix-cache hit rate ` +
        `${ratio.prefixHitRate.toFixed(2)}×${ratio.profile === 'gpu-aware' ? (ratio.ttftP99 >= 2 ? '  (target ≥ 2× met)' : '  (target ≥ 2× NOT met)') : ''}` +
        (Number.isFinite(ratio.bestPossible) ? `; the floor allows ${ratio.bestPossible.toFixed(2)}×` : ''),
    );
  }
  for (const result of results) {
    console.log(`${result.rate}/s ${result.profile}: requests per replica ${JSON.stringify(result.perReplica)}, drops ${JSON.stringify(result.drops)}`);
  }
}

await main();
