// Routing quality through the router's own code: round robin vs the GPU-aware default profile (and any other
// profiles named) over simulated vLLM replicas of Llama 3.1 8B on H100, on one seeded, skewed workload
// (routing-quality-workload.ts). Reports TTFT p50/p99, throughput and prefix-cache hit rate per profile and the
// ratios against round robin, measured in the same run (target: ≥ 2× lower TTFT p99).
//
//   --mode virtual (default)  the router's runtime — Dispatcher, backend registry, breakers, metrics scraper and
//                             parser, scheduler — over models/sim SimEngines on one virtual clock, with only the clock,
//                             the replica transport and the scrape fetch injected (routing-quality-virtual.ts).
//                             Deterministic. Also measures the TTFT floor (every request alone on an idle replica, best
//                             cache state): round robin's p99 over the floor's is the most any profile can reach.
//   --mode http               real processes in real time: N `switchyard sim` replicas and one `switchyard serve`
//                             router per profile, the same arrival trace replayed against the router's HTTP API
//                             (routing-quality-http.ts); bounded by --duration (seconds of trace, default 20);
//                             profiles round-robin and gpu-aware unless --profiles says otherwise (≈ 1½ minutes).
//                             Prints the load average and this host's delays per run, and marks a run the host
//                             distorted (load > 2 × cores, or delays p99 > 20 ms) as not valid.
//
//   npx tsx benchmarks/routing-quality.ts [--mode virtual|http] [--requests 600] [--rates 60,70,80] [--seed 1]
//        [--profiles round-robin,gpu-aware,...] [--custom '{"name": <profile>}'] [--sessions 0.5]
//        [--kv-blocks 8000] [--replicas 4] [--json]
//   npx tsx benchmarks/routing-quality.ts --mode http [--rate 60] [--duration 20] [--speed 1] [--replicas 4] [--no-nice]
import { parseArgs } from 'node:util';
import { SchedulingProfileConfig, DEFAULT_PROFILE, ROUND_ROBIN_PROFILE } from '../router/scheduling/index.ts';
import { ttftFloor } from './routing-quality-floor.ts';
import { buildWorkload, percentile, summarize, type RunSummary } from './routing-quality-workload.ts';
import { runThroughRouter } from './routing-quality-virtual.ts';
import { runHttpComparison } from './routing-quality-http.ts';
import { boosted, boostSelf } from './host-priority.ts';

const { values: args } = parseArgs({
  options: {
    mode: { type: 'string', default: 'virtual' },
    requests: { type: 'string', default: '600' },
    /** Arrival rates to sweep (virtual mode), requests per simulated second. */
    rates: { type: 'string', default: '60,70,80' },
    /** http mode: one arrival rate, requests per simulated second. */
    rate: { type: 'string', default: '60' },
    /** http mode: seconds of arrival trace per profile (real time = duration / speed). */
    duration: { type: 'string', default: '20' },
    seed: { type: 'string', default: '1' },
    replicas: { type: 'string', default: '4' },
    /** KV blocks per replica (16 tokens each): four copies of every system prompt plus the documents do not fit. */
    'kv-blocks': { type: 'string', default: '8000' },
    'system-prompts': { type: 'string', default: '48' },
    /** Multi-turn chat: probability that a chat request continues an open conversation (0 = single-turn). */
    sessions: { type: 'string', default: '0' },
    /** http mode: simulated time runs this much faster than real time. */
    speed: { type: 'string', default: '1' },
    /** Default: round-robin,gpu-aware,v1-default,llm-d (virtual mode); round-robin,gpu-aware (http mode). */
    profiles: { type: 'string', default: '' },
    /** http mode: do not raise the processes' priority. */
    'no-nice': { type: 'boolean', default: false },
    /** Extra profiles to try, as JSON {"name": <scheduling profile>, ...}; list their names in --profiles. */
    custom: { type: 'string', default: '{}' },
    json: { type: 'boolean', default: false },
  },
});

const MODEL = 'llama-3.1-8b';
const MODE = args.mode === 'http' ? 'http' : 'virtual';
const SEED = Number(args.seed);
const REPLICAS = Number(args.replicas);
const KV_BLOCKS = Number(args['kv-blocks']);
const SYSTEM_PROMPTS = Number(args['system-prompts']);
const CONTINUE = Number(args.sessions);

const PROFILES: Record<string, SchedulingProfileConfig> = {
  'round-robin': ROUND_ROBIN_PROFILE,
  /** The default: 3·prefix-affinity + 3·predicted-ttft + 0.5·in-flight. */
  'gpu-aware': DEFAULT_PROFILE,
  /** The default plus session affinity (weight 1): the candidate for multi-turn traffic. */
  'gpu-aware+session': SchedulingProfileConfig.parse({
    scorers: [...DEFAULT_PROFILE.scorers, { type: 'session-affinity', weight: 1 }],
  }),
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
    filters: [
      'healthy',
      'serves-model',
      'circuit-closed',
      { type: 'not-saturated', maxPendingPrefillTokens: 1_000_000_000 },
    ],
    scorers: [
      { type: 'queue', weight: 2 },
      { type: 'kv-cache', weight: 2 },
      { type: 'prefix-affinity', weight: 3 },
      { type: 'in-flight', weight: 1 },
      { type: 'prefill-work', weight: 3 },
    ],
  }),
  /** The default with affinity only within 2× of the fastest predicted TTFT. */
  'bounded-affinity': SchedulingProfileConfig.parse({
    scorers: [
      { type: 'bounded-prefix-affinity', weight: 3, maxTtftRatio: 2 },
      { type: 'predicted-ttft', weight: 3 },
      { type: 'in-flight', weight: 0.5 },
    ],
  }),
};

interface Ratio {
  profile: string;
  rate: number;
  ttftP99: number;
  ttftP50: number;
  throughput: number;
  prefixHitRate: number;
  /** Round robin's p99 over the floor's: the most any profile could reach (virtual mode, single-turn). */
  bestPossible: number;
}

function ratiosOf(results: readonly RunSummary[], floors: ReadonlyMap<number, number>): Ratio[] {
  return results
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
        bestPossible: baseline.ttftP99 / (floors.get(result.rate) ?? NaN),
      };
    });
}

function formatRow(result: RunSummary): string {
  const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(0)} ms` : '—').padStart(9);
  return [
    `${result.rate}/s`.padStart(5),
    result.profile.padEnd(18),
    ms(result.ttftP50),
    ms(result.ttftP99),
    ms(result.ttftP99Shared),
    ms(result.ttftP99Long),
    ms(result.itlP99),
    `${result.throughputTokensPerSecond.toFixed(0)} tok/s`.padStart(11),
    `${(result.prefixHitRate * 100).toFixed(1)} %`.padStart(8),
    `${result.completed}/${result.completed + result.failed}`.padStart(8),
    String(result.preemptions).padStart(7),
    String(result.queued).padStart(6),
  ].join(' ');
}

function printResults(results: readonly RunSummary[], floors: ReadonlyMap<number, number>, header: string[]): void {
  const ratios = ratiosOf(results, floors);
  for (const line of header) console.log(line);
  console.log(
    ' rate profile             TTFT p50  TTFT p99  p99 chat  p99 docs   ITL p99  throughput  prefix-hit completed preempt queued',
  );
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
      `${String(ratio.rate).padStart(3)}/s ${ratio.profile.padEnd(18)} vs round-robin: TTFT p99 ${ratio.ttftP99.toFixed(2)}× lower, ` +
        `p50 ${ratio.ttftP50.toFixed(2)}× lower, throughput ${ratio.throughput.toFixed(2)}×, prefix-cache hit rate ` +
        `${ratio.prefixHitRate.toFixed(2)}×${ratio.profile === 'gpu-aware' ? (ratio.ttftP99 >= 2 ? '  (target ≥ 2× met)' : '  (target ≥ 2× NOT met)') : ''}` +
        (Number.isFinite(ratio.bestPossible) ? `; the floor allows ${ratio.bestPossible.toFixed(2)}×` : ''),
    );
  }
  for (const result of results)
    console.log(`${result.rate}/s ${result.profile}: requests per replica ${JSON.stringify(result.perReplica)}`);
}

async function main(): Promise<void> {
  // Real time only: the virtual mode does not depend on the host's scheduling.
  if (MODE === 'http' && (await boostSelf(!args['no-nice']))) return;
  for (const [name, profile] of Object.entries(JSON.parse(args.custom) as Record<string, unknown>)) {
    PROFILES[name] = SchedulingProfileConfig.parse(profile);
  }
  const profileList =
    args.profiles || (MODE === 'http' ? 'round-robin,gpu-aware' : 'round-robin,gpu-aware,v1-default,llm-d');
  const profileNames = profileList.split(',').map((name) => name.trim());
  const unknown = profileNames.filter((name) => !(name in PROFILES));
  if (unknown.length > 0 || !profileNames.includes('round-robin')) {
    throw new Error(
      `--profiles: unknown ${unknown.join(', ') || '(none)'}; need round-robin plus any of ${Object.keys(PROFILES).join(', ')}`,
    );
  }
  const workloadTitle =
    `${REPLICAS} replicas of llama-3.1-8b on H100 with ${KV_BLOCKS} KV blocks each; Poisson arrivals, 80 % chat over ` +
    `${SYSTEM_PROMPTS} shared system prompts (1–3K tokens, Zipf)${CONTINUE > 0 ? `, multi-turn (a chat request continues an open conversation with p = ${CONTINUE}, x-session-id = conversation)` : ''}, ` +
    `20 % unique documents (2–6K tokens), 80 % of answers 20–150 tokens and 20 % 300–800; seed ${SEED}`;

  if (MODE === 'http') {
    const rate = Number(args.rate);
    const requests = Math.max(1, Math.round(rate * Number(args.duration)));
    const workload = buildWorkload({
      requests,
      rate,
      seed: SEED,
      systemPrompts: SYSTEM_PROMPTS,
      continueProbability: CONTINUE,
    });
    const { results, hosts } = await runHttpComparison(
      {
        model: MODEL,
        replicas: REPLICAS,
        kvBlocks: KV_BLOCKS,
        speed: Number(args.speed),
        rate,
        nice: !args['no-nice'],
      },
      profileNames.map((name) => ({ name, profile: PROFILES[name]! })),
      workload,
    );
    const valid = hosts.every((host) => host.valid);
    if (args.json) {
      console.log(
        JSON.stringify(
          { mode: MODE, requests, rate, seed: SEED, valid, hosts, results, ratios: ratiosOf(results, new Map()) },
          null,
          2,
        ),
      );
      return;
    }
    printResults(results, new Map(), [
      `routing quality (real time over HTTP: ${REPLICAS} \`switchyard sim\` processes at speed ×${args.speed} and a \`switchyard serve\` router process per profile): ${requests} requests at ${rate}/s; ${workloadTitle}`,
      'times are simulated time (real ms × speed), measured by the client at the router: TTFT = first content chunk, ITL = gap between content chunks',
    ]);
    for (const host of hosts) {
      console.log(
        `host during ${host.profile}: load average ${host.loadBefore.toFixed(1)} → ${host.loadAfter.toFixed(1)} on ${host.cores} cores, ` +
          `client event-loop delay p99 ${host.loopDelayP99Ms.toFixed(1)} ms, arrivals sent late by p99 ${host.sendLatenessP99Ms.toFixed(1)} ms` +
          `${host.niced ? `, processes at nice −10${boosted() ? ' in their own scheduling group' : ''}` : ''}: ${host.valid ? 'quiet enough' : 'TOO BUSY'}`,
      );
    }
    if (!valid) {
      console.log(
        'WARNING: NOT VALID — the host was too busy during at least one run (load > 2 × cores or delays p99 > 20 ms): ' +
          'TTFTs include host scheduling delay; re-run on a quieter machine before quoting these numbers',
      );
    }
    return;
  }

  const requests = Number(args.requests);
  const results: RunSummary[] = [];
  const floors = new Map<number, number>();
  for (const rate of args.rates.split(',').map(Number)) {
    const workload = buildWorkload({
      requests,
      rate,
      seed: SEED,
      systemPrompts: SYSTEM_PROMPTS,
      continueProbability: CONTINUE,
    });
    if (CONTINUE === 0) floors.set(rate, percentile(ttftFloor(workload, MODEL, KV_BLOCKS), 0.99));
    for (const name of profileNames) {
      const run = await runThroughRouter(
        { model: MODEL, replicas: REPLICAS, kvBlocks: KV_BLOCKS, profile: PROFILES[name]!, seed: SEED },
        workload,
      );
      results.push(summarize(name, rate, run.outcomes, workload.length, 0, run.cache));
    }
  }
  if (args.json) {
    const settings = {
      mode: MODE,
      requests,
      seed: SEED,
      replicas: REPLICAS,
      kvBlocks: KV_BLOCKS,
      systemPrompts: SYSTEM_PROMPTS,
      sessions: CONTINUE,
    };
    console.log(
      JSON.stringify(
        { ...settings, results, ratios: ratiosOf(results, floors), ttftFloorP99: Object.fromEntries(floors) },
        null,
        2,
      ),
    );
    return;
  }
  printResults(results, floors, [
    `routing quality (virtual time: the router's Dispatcher, registry, breakers, scraper and scheduler over SimEngines on one virtual clock): ${requests} requests per run; ${workloadTitle}`,
    'times are simulated GPU time; TTFT = first output token; queued = sent to a saturated replica (nowhere to spill)',
  ]);
}

await main();
