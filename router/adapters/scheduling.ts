// The one seam between the router core and router/scheduling/ + router/tiers/: everything
// the core uses from those folders is imported here, so the rest of the core does not depend on their file layout.
export {
  SchedulingProfileConfig,
  CircuitBreaker,
  CircuitBreakerConfig,
  CIRCUIT_STATE_VALUE,
  computePrefixBlockHashes,
  createMetricsScraper,
  createScheduler,
  estimateUncachedPromptTokens,
  millisecondCostModel,
  predictTtft,
} from '../scheduling/index.ts';
export type {
  BackendKind,
  BackendState,
  CircuitState,
  ConfiguredScheduler,
  EndpointMetrics,
  MetricsScraper,
  MetricsScraperOptions,
  ScrapeTarget,
  Scheduler,
  SchedulingRequest,
  SchedulingResult,
  ScoredBackend,
  TtftCostModel,
} from '../scheduling/index.ts';
export { TierClassifierConfig, DEFAULT_TIER_CONFIG, classifyComplexity } from '../tiers/index.ts';
export type { TierConfig, ComplexityRequest } from '../tiers/index.ts';
