// Types-only contracts of deploy/: what a driver does (start/stop/list replicas), what deploy needs from the router
// (PoolRegistry, PoolSignalSource, SpillOverAdvisor) and the clock everything is timed by. Implementations live beside
// this file; `drivers/conformance.ts` is the suite every Driver runs, `registry/conformance.ts` the one every
// PoolRegistry runs (the in-memory one here, the router's once it plugs in).
import type { Dtype, ModelId } from '../models/catalog/models.ts';
import type { GpuId } from '../models/catalog/gpus.ts';

// ───────────────────────────── time ─────────────────────────────

export interface TimerHandle {
  cancel(): void;
}

/** Milliseconds and timers; models/sim's RealClock and VirtualClock both satisfy it. */
export interface Clock {
  now(): number;
  setTimer(delayMs: number, callback: () => void): TimerHandle;
}

// ───────────────────────────── drivers ─────────────────────────────

/** Everything a driver needs to start one model server; built by the pool controller from the catalog. */
export interface ReplicaSpec {
  /** Unique across the host: `<pool>-<random>`. */
  replicaId: string;
  pool: string;
  model: ModelId;
  gpu: GpuId;
  dtype: Dtype;
  tensorParallel: number;
  /** Physical GPU ids (nvidia-smi index) granted by the inventory, `tensorParallel` of them. */
  gpuIds: readonly string[];
  /** Interface the server binds (127.0.0.1 here; 0.0.0.0 behind host networking in production). */
  host: string;
  port: number;
  /** `vllm serve` arguments from models/sizing.ts `vllmLaunchArgs` (port included). */
  launchArgs: readonly string[];
}

export type ReplicaPhase = 'starting' | 'running' | 'exited';

/** A replica as its driver sees it (from its own records, container labels or state files). */
export interface ReplicaInfo {
  replicaId: string;
  pool: string;
  model: ModelId;
  gpuIds: readonly string[];
  port: number;
  /** Base URL of the OpenAI-compatible server, no trailing slash. */
  url: string;
  phase: ReplicaPhase;
  /** Container id or process id. */
  ref: string;
  /** Wall-clock ms when the driver started it. */
  startedAt: number;
  exitCode?: number;
}

export interface ReplicaExit {
  replicaId: string;
  pool: string;
  exitCode: number | null;
  /** What the driver saw, e.g. `container die (exit 137)` or `process exited (signal SIGKILL)`. */
  detail: string;
}

export interface StopOptions {
  /** How long the server gets between SIGTERM and SIGKILL. */
  graceMs?: number;
}

/**
 * Starts, lists and stops model servers. A driver never decides *how many*: the pool controller does. `list()` must
 * also return replicas started by an earlier instance of the driver (adoption after a restart).
 */
export interface Driver {
  readonly kind: DriverKind;
  /** Create and start; resolves once the server process exists (not yet healthy). */
  start(spec: ReplicaSpec): Promise<ReplicaInfo>;
  /** Stop and remove; idempotent (unknown or already gone ids resolve). */
  stop(replicaId: string, options?: StopOptions): Promise<void>;
  /** Every Switchyard replica this driver can see, including exited ones not yet removed. */
  list(): Promise<ReplicaInfo[]>;
  /** The last lines of the replica's output, for diagnostics (never includes the environment). */
  logs(replicaId: string, tailLines?: number): Promise<string>;
  /** Called when a replica dies on its own (not via `stop`). Returns an unsubscribe function. */
  onExit(listener: (exit: ReplicaExit) => void): () => void;
  /** Release the driver's own resources (event streams, watchers). Running replicas keep running. */
  close(): Promise<void>;
}

export type DriverKind = 'local' | 'docker';

// ───────────────────────────── router side ─────────────────────────────

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

// ───────────────────────────── GPU telemetry ─────────────────────────────

/** One GPU at one instant, whatever the source (nvidia-smi CSV/XML/dmon or DCGM exporter). Absent values are null. */
export interface GpuSample {
  /** nvidia-smi index as a string ('0'…), the id DeviceRequests and the inventory use. */
  index: string;
  uuid: string | null;
  name: string | null;
  /** In [0,1]. */
  utilization: number | null;
  memoryUsedBytes: number | null;
  memoryTotalBytes: number | null;
  powerWatts: number | null;
  temperatureCelsius: number | null;
}

export interface TelemetryReading {
  source: 'nvidia-smi' | 'dcgm' | 'none';
  /** False when the source is absent or failed (no GPU, no binary, exporter down): samples is then empty. */
  available: boolean;
  samples: GpuSample[];
  /** Why it is unavailable, for status output. */
  detail: string;
}

export interface GpuTelemetrySource {
  read(): Promise<TelemetryReading>;
}
