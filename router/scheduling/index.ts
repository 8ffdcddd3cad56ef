// Public surface of router/scheduling: what the router core imports. Everything else is internal.
export type * from './contracts.ts';
export {
  SchedulingProfileConfig,
  FilterConfig,
  ScorerConfig,
  PickerConfig,
  DEFAULT_PROFILE,
  ROUND_ROBIN_PROFILE,
  DEFAULT_SCRAPE_INTERVAL_MS,
  DEFAULT_STALE_AFTER_MS,
  DEFAULT_PREFIX_LRU_SIZE,
} from './config.ts';
export type { SchedulingProfileInput, FilterType, ScorerType, PickerType } from './config.ts';
export { createScheduler, PLUGIN_DURATION_METRIC } from './scheduler.ts';
export type { SchedulerDeps, ConfiguredScheduler } from './scheduler.ts';
export { parseVllmMetrics, VllmMetricsParseError } from './metrics/parse-vllm.ts';
export { createMetricsScraper, metricsUrlFor } from './metrics/scraper.ts';
export type {
  MetricsScraper,
  MetricsScraperOptions,
  ScrapeSnapshot,
  ScrapeTarget,
  FetchLike,
} from './metrics/scraper.ts';
export { CircuitBreaker, CircuitBreakerConfig, CIRCUIT_STATE_VALUE } from './circuit-breaker.ts';
export type { CircuitBreakerInput, CircuitBreakerOptions } from './circuit-breaker.ts';
export {
  computePrefixBlockHashes,
  CHARS_PER_TOKEN,
  DEFAULT_PREFIX_BLOCK_TOKENS,
  DEFAULT_MAX_PREFIX_BLOCKS,
} from './prefix-hash.ts';
export type { PromptMessage, PrefixHashOptions } from './prefix-hash.ts';
export { isSaturated } from './plugins/filters/not-saturated/index.ts';
export { FILTERS, SCORERS, PICKERS } from './plugins/registry.ts';
export { estimateUncachedPromptTokens } from './prefill-estimate.ts';
export { predictTtft, tokenCostModel, millisecondCostModel, DEFAULT_CHUNK_TOKENS } from './ttft-predictor.ts';
export type { TtftCostModel, StepTimes } from './ttft-predictor.ts';
