// Types-only contracts of the scheduling pipeline: filters drop endpoints, scorers rate them in [0,1], a picker
// chooses. The router core builds a SchedulingRequest and a list of BackendState and asks the Scheduler for one.

/** What a scrape of a vLLM `/metrics` endpoint yields (both metric-name generations map onto this). */
export interface EndpointMetrics {
  requestsRunning: number;
  requestsWaiting: number;
  /** KV-cache usage in [0,1]. */
  kvCacheUsage: number;
  prefixCacheQueries: number;
  prefixCacheHits: number;
  /** Clock time (ms) of the scrape that produced these values. */
  scrapedAt: number;
  /** From `vllm:lora_requests_info` (servers started with --enable-lora); absent otherwise. */
  lora?: LoraMetrics;
}

/** Which LoRA adapters a vLLM replica runs: adapters with running / waiting requests and its `--max-loras`. */
export interface LoraMetrics {
  running: readonly string[];
  waiting: readonly string[];
  maxLoras: number;
}

export type CircuitState = 'closed' | 'open' | 'half-open';
/** `vllm` and `llamacpp` are self-hosted engines with scraped metrics; `openai` is a hosted API without them. */
export type BackendKind = 'vllm' | 'llamacpp' | 'openai';

/** One backend (a vLLM replica or a hosted API) as the scheduler sees it at decision time. */
export interface BackendState {
  id: string;
  pool: string;
  kind: BackendKind;
  url: string;
  /** Model names this backend serves (router-side names). */
  models: readonly string[];
  healthy: boolean;
  circuit: CircuitState;
  /** Router-side counters: updated on admit/finish, so they have no scrape lag. */
  inFlightRequests: number;
  inFlightTokens: number;
  /**
   * Prompt tokens of in-flight requests that have not produced a first token yet (router-side, no lag):
   * the prefill work queued ahead of a new request. Absent = unknown (the prefill-backlog scorer is then neutral).
   */
  pendingPrefillTokens?: number;
  /** Last scrape, absent for hosted backends and before the first scrape. */
  metrics?: EndpointMetrics;
  /** True when the last good scrape is older than the staleness limit: treated as saturated (fail closed). */
  metricsStale: boolean;
  /** $ per hour of the GPUs behind this backend, or $ per 1M tokens blended for hosted; lower is cheaper. */
  relativeCost: number;
  /** LoRA adapters the router knows are registered on this replica (its /v1/models, or loaded by the router). */
  registeredAdapters?: ReadonlySet<string>;
}

export interface SchedulingRequest {
  requestId: string;
  model: string;
  promptTokens: number;
  /** Hashes of the prompt's leading 16-token blocks, chained (each covers all before it), for prefix affinity. */
  prefixBlockHashes: readonly string[];
  /** Session key (x-session-id header or the `user` field) for session affinity. */
  sessionKey?: string;
  /** The LoRA adapter the request names (`model` is then its base model), for lora-affinity. */
  adapter?: string;
}

export interface FilterPlugin {
  readonly name: string;
  /** A drop by this filter means "saturated or stale": counts toward SchedulingResult.allSaturated. */
  readonly dropsForSaturation?: boolean;
  /** The candidates that pass, in order; `candidates` itself when none is dropped (no allocation per request). */
  filter(request: SchedulingRequest, candidates: readonly BackendState[]): readonly BackendState[];
}

export interface ScorerPlugin {
  readonly name: string;
  /** One score in [0,1] per candidate, same order; 1 is best. */
  score(request: SchedulingRequest, candidates: readonly BackendState[]): number[];
  /** Learn from a served request (prefix and session affinity); Scheduler.recordServed fans out to it. */
  recordServed?(request: SchedulingRequest, backendId: string): void;
}

export interface ScoredBackend {
  backend: BackendState;
  /** Weighted sum of scorer outputs divided by the sum of weights, in [0,1]. */
  score: number;
  perScorer: Readonly<Record<string, number>>;
}

export interface PickerPlugin {
  readonly name: string;
  pick(request: SchedulingRequest, scored: readonly ScoredBackend[]): ScoredBackend | undefined;
  /**
   * Every candidate, in the order this picker would take them: the first is its pick, each next one is its pick
   * among those left. The router walks this list when it cannot use a backend (open breaker, over the TTFT SLO).
   */
  order(request: SchedulingRequest, scored: readonly ScoredBackend[]): ScoredBackend[];
}

export interface SchedulingResult {
  /** The picker's choice: `ranked[0]`. */
  picked?: ScoredBackend;
  /** Candidates that passed every filter, in the picker's order (`PickerPlugin.order`): the router tries them in turn. */
  ranked: readonly ScoredBackend[];
  /** Which filter removed each dropped backend id. */
  droppedBy: Readonly<Record<string, string>>;
  /** Every filter passed nothing, and at least one backend was dropped for saturation (→ spill-over). */
  allSaturated: boolean;
  /**
   * When allSaturated: the best of the saturated backends by the same scorers and picker (busy ones before
   * stale ones), for a caller that has nowhere to spill over to and must queue somewhere.
   */
  bestSaturated?: ScoredBackend;
}

export interface Scheduler {
  schedule(request: SchedulingRequest, candidates: readonly BackendState[]): SchedulingResult;
  /** Called after a backend served a request, so affinity plugins learn where prefixes and sessions live. */
  recordServed(request: SchedulingRequest, backendId: string): void;
}
