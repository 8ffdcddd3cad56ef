// Types-only contract between the router and whatever manages its replicas (deploy/'s drivers and autoscaler):
// the router implements PoolRegistry, PoolSignalSource and SpillOverAdvisor (router/pools/pool-registry.ts); deploy/
// drives them. It lives with the router because it is the router's API; deploy/ re-exports it.

/** What the router needs to route to a replica. */
export interface ReplicaEndpoint {
  replicaId: string;
  pool: string;
  /** The model name the server answers to (`--served-model-name`). */
  model: string;
  url: string;
  gpuIds: readonly string[];
}

export interface DrainOptions {
  /** Give up waiting after this long; the replica is stopped anyway and the result says so. */
  timeoutMs: number;
}

export interface DrainResult {
  /** True when in-flight reached 0 before the timeout. */
  drained: boolean;
  /** Requests still running when drain returned (0 when drained). */
  inFlight: number;
  waitedMs: number;
}

/**
 * The router's pool membership, as deploy/ drives it. The router implements this (see deploy/README.md):
 * - `register`: start routing new requests of `pool` to the replica (idempotent per replicaId).
 * - `drain`: stop routing NEW requests to it at once; resolve when its in-flight count reaches 0 or the timeout.
 * - `deregister`: forget it (also called for replicas that died without a drain).
 */
export interface PoolRegistry {
  register(replica: ReplicaEndpoint): void | Promise<void>;
  drain(replicaId: string, options: DrainOptions): Promise<DrainResult>;
  deregister(replicaId: string): void | Promise<void>;
  /** Replicas currently registered (draining ones included), for status and reconciliation. */
  list(pool?: string): ReplicaEndpoint[] | Promise<ReplicaEndpoint[]>;
}

/** One replica's load as the router sees it (router-side counters + its last scrape of vLLM `/metrics`). */
export interface ReplicaSignals {
  replicaId: string;
  /** vllm:kv_cache_usage_perc, in [0,1]. */
  kvCacheUsage: number;
  /** vllm:num_requests_waiting. */
  requestsWaiting: number;
  /** vllm:num_requests_running. */
  requestsRunning: number;
  /** Router-side in-flight requests to this replica. */
  inFlight: number;
  draining: boolean;
}

/** The router's view of one pool, read by the autoscaler each tick. */
export interface PoolSignals {
  pool: string;
  /** Clock ms of the reading. */
  at: number;
  replicas: readonly ReplicaSignals[];
  /** Requests queued in the router for this pool (not yet sent to any replica). */
  routerQueue: number;
  /** Requests of this pool sent to the hosted tier per second (recent window). */
  spillOverPerSecond: number;
  /** Requests arriving for this pool per second (recent window), served or spilled. */
  requestsPerSecond: number;
}

export interface PoolSignalSource {
  read(pool: string): PoolSignals | Promise<PoolSignals>;
}

/**
 * One spill-over policy shared with the router: while the autoscaler is adding capacity (replicas starting) and the
 * pool is above its band, the router should send overflow to the hosted tier instead of queueing it.
 */
export interface SpillOverAdvice {
  /** True: prefer the hosted tier for requests that would queue in this pool. */
  preferHosted: boolean;
  reason: string;
  /** Replicas starting right now. */
  startingReplicas: number;
}

export interface SpillOverAdvisor {
  adviseSpillOver(pool: string, advice: SpillOverAdvice): void;
}
