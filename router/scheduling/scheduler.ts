// filter → score → pick, with every plugin call timed into one histogram. Built once per pool (or per profile) from
// a validated SchedulingProfileConfig; holds only the plugins' own state (affinity tables, round-robin turn).
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { LeanHistogram } from '../observability/lean-metrics.ts';
import type {
  BackendState,
  FilterPlugin,
  PickerPlugin,
  Scheduler,
  SchedulingRequest,
  SchedulingResult,
  ScoredBackend,
  ScorerPlugin,
} from './contracts.ts';
import { SchedulingProfileConfig } from './config.ts';
import type { SchedulingProfileInput } from './config.ts';
import { createFilter, createPicker, createScorer } from './plugins/registry.ts';
import { clamp01 } from './plugins/normalize.ts';
import type { PluginContext } from './plugins/plugin-context.ts';
import { PrefixBlockIndex } from './plugins/scorers/prefix-affinity/index.ts';

/** droppedBy when every candidate passed (shared: most calls drop nothing). */
const NO_DROPS: Readonly<Record<string, string>> = Object.freeze({});

export const PLUGIN_DURATION_METRIC = 'switchyard_scheduling_plugin_duration_seconds';
/** Plugin calls take microseconds: buckets from 1 µs to 10 ms. */
const DURATION_BUCKETS = [1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2];

export interface SchedulerDeps {
  /** Wall clock in ms (session-affinity TTL). */
  clock?: () => number;
  /** Where `switchyard_scheduling_plugin_duration_seconds{plugin,kind}` is registered (shared across schedulers). */
  registry?: Registry;
  /** Uniform [0,1) source for the weighted-random picker. */
  random?: () => number;
}

export interface ConfiguredScheduler extends Scheduler {
  readonly profile: SchedulingProfileConfig;
  readonly filters: readonly FilterPlugin[];
  readonly scorers: ReadonlyArray<{ plugin: ScorerPlugin; weight: number }>;
  readonly picker: PickerPlugin;
}

type PluginKind = 'filter' | 'scorer' | 'picker';

function durationHistogram(registry: Registry): LeanHistogram<'plugin' | 'kind'> {
  const existing = registry.getSingleMetric(PLUGIN_DURATION_METRIC) as unknown;
  if (existing instanceof LeanHistogram) return existing as LeanHistogram<'plugin' | 'kind'>;
  return new LeanHistogram({
    name: PLUGIN_DURATION_METRIC,
    help: 'Time spent in each scheduling plugin call (filter, scorer, picker), sampled: one scheduling call in scheduling.timingSampleEvery',
    labelNames: ['plugin', 'kind'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
}

/** Accepts a parsed profile or raw config input (validated here). */
export function createScheduler(
  profile: SchedulingProfileConfig | SchedulingProfileInput = {},
  deps: SchedulerDeps = {},
): ConfiguredScheduler {
  const parsed = SchedulingProfileConfig.parse(profile);
  let prefixIndex: PrefixBlockIndex | undefined;
  const context: PluginContext = {
    clock: deps.clock ?? Date.now,
    random: deps.random ?? Math.random,
    prefixLruSize: parsed.prefixLruSize,
    prefixBlockTokens: parsed.prefixBlockTokens,
    prefixIndex: () => (prefixIndex ??= new PrefixBlockIndex(parsed.prefixLruSize)),
  };
  const filters = parsed.filters.map((config) => createFilter(config, context));
  const scorers = parsed.scorers.map((config) => ({ plugin: createScorer(config, context), weight: config.weight }));
  const picker = createPicker(parsed.picker, context);
  const totalWeight = scorers.reduce((sum, scorer) => sum + scorer.weight, 0);
  const learners = scorers.map((scorer) => scorer.plugin).filter((plugin) => plugin.recordServed !== undefined);

  // Pre-bind one observer per plugin: no label object allocation on the hot path.
  const histogram = deps.registry ? durationHistogram(deps.registry) : undefined;
  const observer = (plugin: string, kind: PluginKind): ((seconds: number) => void) => {
    if (!histogram) return () => {};
    const child = histogram.labels({ plugin, kind });
    return (seconds) => child.observe(seconds);
  };
  const filterTimers = filters.map((filter) => observer(filter.name, 'filter'));
  const scorerTimers = scorers.map((scorer) => observer(scorer.plugin.name, 'scorer'));
  const pickerTimer = observer(picker.name, 'picker');

  // Every per-scorer record starts as a copy of this one: one shape from the start, where adding each scorer's name
  // to an empty object walks the empty object's (program-wide) transition tree on every request.
  const perScorerTemplate: Readonly<Record<string, number>> = Object.fromEntries(
    scorers.map((scorer) => [scorer.plugin.name, 0]),
  );

  function scoreAll(request: SchedulingRequest, backends: readonly BackendState[], timed: boolean): ScoredBackend[] {
    const ranked: ScoredBackend[] = backends.map((backend) => ({
      backend,
      score: 0,
      perScorer: { ...perScorerTemplate },
    }));
    if (ranked.length === 0 || totalWeight === 0) return ranked;
    for (let index = 0; index < scorers.length; index++) {
      const { plugin, weight } = scorers[index]!;
      const started = timed ? performance.now() : 0;
      const scores = plugin.score(request, backends);
      if (timed) scorerTimers[index]!((performance.now() - started) / 1000);
      for (let position = 0; position < ranked.length; position++) {
        const value = clamp01(scores[position] ?? 0);
        const entry = ranked[position]!;
        (entry.perScorer as Record<string, number>)[plugin.name] = value;
        entry.score += (weight * value) / totalWeight;
      }
    }
    return ranked;
  }

  // The first call is timed, then one in `timingSampleEvery` (see config.ts).
  let untilTimed = 0;
  function schedule(request: SchedulingRequest, candidates: readonly BackendState[]): SchedulingResult {
    const timed = histogram !== undefined && untilTimed-- === 0;
    if (timed) untilTimed = parsed.timingSampleEvery - 1;
    let droppedBy: Record<string, string> | undefined;
    // Backends dropped only for saturation, still put through the later filters: where to queue if the caller
    // has nowhere to spill over to.
    let saturated: BackendState[] = [];
    let remaining: readonly BackendState[] = candidates;
    for (let index = 0; index < filters.length && (remaining.length > 0 || saturated.length > 0); index++) {
      const filter = filters[index]!;
      const forSaturation = filter.dropsForSaturation === true;
      if (!forSaturation && saturated.length > 0) saturated = [...filter.filter(request, saturated)];
      if (remaining.length === 0) continue;
      const started = timed ? performance.now() : 0;
      const kept = filter.filter(request, remaining);
      if (timed) filterTimers[index]!((performance.now() - started) / 1000);
      if (kept.length !== remaining.length) {
        const keptSet = new Set(kept);
        for (const backend of remaining) {
          if (keptSet.has(backend)) continue;
          (droppedBy ??= {})[backend.id] = filter.name;
          if (forSaturation) saturated.push(backend);
        }
      }
      remaining = kept;
    }

    const scored = scoreAll(request, remaining, timed);
    let ranked: ScoredBackend[] = scored;
    let picked: ScoredBackend | undefined;
    if (scored.length > 0) {
      const started = timed ? performance.now() : 0;
      ranked = picker.order(request, scored);
      picked = ranked[0];
      if (timed) pickerTimer((performance.now() - started) / 1000);
    }
    const allSaturated = ranked.length === 0 && saturated.length > 0;
    let bestSaturated: ScoredBackend | undefined;
    if (allSaturated) {
      // Prefer a backend that is merely busy over one whose metrics went stale (it may be gone).
      const fresh = saturated.filter((backend) => !backend.metricsStale);
      bestSaturated = picker.pick(request, scoreAll(request, fresh.length > 0 ? fresh : saturated, false));
    }
    // Built field by field: spreading conditional objects allocates a temporary per field on every request.
    const result: SchedulingResult = { ranked, droppedBy: droppedBy ?? NO_DROPS, allSaturated };
    if (picked) result.picked = picked;
    if (bestSaturated) result.bestSaturated = bestSaturated;
    return result;
  }

  return {
    profile: parsed,
    filters,
    scorers,
    picker,
    schedule,
    recordServed(request, backendId) {
      for (const learner of learners) learner.recordServed!(request, backendId);
    },
  };
}
