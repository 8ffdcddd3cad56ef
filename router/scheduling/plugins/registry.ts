// The one registry: plugin type (as written in the profile config) → factory. A new plugin is one folder plus
// one line here (and its config variant in ../config.ts).
import type { FilterPlugin, PickerPlugin, ScorerPlugin } from '../contracts.ts';
import type { FilterConfig, FilterType, PickerConfig, PickerType, ScorerConfig, ScorerType } from '../config.ts';
import type { PluginContext } from './plugin-context.ts';
import { createHealthyFilter } from './filters/healthy/index.ts';
import { createServesModelFilter } from './filters/serves-model/index.ts';
import { createCircuitClosedFilter } from './filters/circuit-closed/index.ts';
import { createNotSaturatedFilter } from './filters/not-saturated/index.ts';
import { createQueueScorer } from './scorers/queue/index.ts';
import { createKvCacheScorer } from './scorers/kv-cache/index.ts';
import { createInFlightScorer } from './scorers/in-flight/index.ts';
import { createPrefixAffinityScorer } from './scorers/prefix-affinity/index.ts';
import { createSessionAffinityScorer } from './scorers/session-affinity/index.ts';
import { createCostScorer } from './scorers/cost/index.ts';
import { createConsistentHashAffinityScorer } from './scorers/consistent-hash-affinity/index.ts';
import { createPrefillBacklogScorer } from './scorers/prefill-backlog/index.ts';
import { createPrefillWorkScorer } from './scorers/prefill-work/index.ts';
import { createPredictedTtftScorer } from './scorers/predicted-ttft/index.ts';
import { createBoundedPrefixAffinityScorer } from './scorers/bounded-prefix-affinity/index.ts';
import { createLoraAffinityScorer } from './scorers/lora-affinity/index.ts';
import { createMaxScorePicker } from './pickers/max-score/index.ts';
import { createWeightedRandomPicker } from './pickers/weighted-random/index.ts';
import { createRoundRobinPicker } from './pickers/round-robin/index.ts';

type ConfigOf<Union, Type> = Extract<Union, { type: Type }>;

export const FILTERS: {
  [Type in FilterType]: (config: ConfigOf<FilterConfig, Type>, context: PluginContext) => FilterPlugin;
} = {
  healthy: () => createHealthyFilter(),
  'serves-model': () => createServesModelFilter(),
  'circuit-closed': () => createCircuitClosedFilter(),
  'not-saturated': (config) => createNotSaturatedFilter(config),
};

export const SCORERS: {
  [Type in ScorerType]: (config: ConfigOf<ScorerConfig, Type>, context: PluginContext) => ScorerPlugin;
} = {
  queue: () => createQueueScorer(),
  'kv-cache': () => createKvCacheScorer(),
  'in-flight': (config) => createInFlightScorer(config.mode),
  'prefix-affinity': (_config, context) => createPrefixAffinityScorer(context.prefixIndex()),
  'session-affinity': (config, context) =>
    createSessionAffinityScorer({ ttlMs: config.ttlMs, capacity: context.prefixLruSize, clock: context.clock }),
  'consistent-hash-affinity': (config) => createConsistentHashAffinityScorer({ keyBlocks: config.keyBlocks }),
  cost: () => createCostScorer(),
  'prefill-backlog': () => createPrefillBacklogScorer(),
  'prefill-work': (_config, context) => createPrefillWorkScorer(context.prefixIndex(), context.prefixBlockTokens),
  'predicted-ttft': (config, context) =>
    createPredictedTtftScorer(context.prefixIndex(), { ...config, blockTokens: context.prefixBlockTokens }),
  'bounded-prefix-affinity': (config, context) =>
    createBoundedPrefixAffinityScorer(context.prefixIndex(), { ...config, blockTokens: context.prefixBlockTokens }),
  'lora-affinity': (config, context) =>
    createLoraAffinityScorer({ recentMs: config.recentMs, clock: context.clock, capacity: context.prefixLruSize }),
};

export const PICKERS: {
  [Type in PickerType]: (config: ConfigOf<PickerConfig, Type>, context: PluginContext) => PickerPlugin;
} = {
  'max-score': (_config, context) => createMaxScorePicker({ random: context.random }),
  'weighted-random': (config, context) =>
    createWeightedRandomPicker({ sharpness: config.sharpness, random: context.random }),
  'round-robin': () => createRoundRobinPicker(),
};

export function createFilter(config: FilterConfig, context: PluginContext): FilterPlugin {
  const factory = FILTERS[config.type] as (config: FilterConfig, context: PluginContext) => FilterPlugin;
  return factory(config, context);
}

export function createScorer(config: ScorerConfig, context: PluginContext): ScorerPlugin {
  const factory = SCORERS[config.type] as (config: ScorerConfig, context: PluginContext) => ScorerPlugin;
  return factory(config, context);
}

export function createPicker(config: PickerConfig, context: PluginContext): PickerPlugin {
  const factory = PICKERS[config.type] as (config: PickerConfig, context: PluginContext) => PickerPlugin;
  return factory(config, context);
}
