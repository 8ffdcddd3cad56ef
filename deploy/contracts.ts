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
  /** Catalog model id (vLLM) or the name a llama-server replica serves (its `--alias`). */
  model: ModelId | (string & {});
  /** Catalog GPU id, or `cpu` for a llama-server replica without GPUs. */
  gpu: GpuId | 'cpu';
  dtype: Dtype;
  tensorParallel: number;
  /** Physical GPU ids (nvidia-smi index) granted by the inventory, `tensorParallel` of them. */
  gpuIds: readonly string[];
  /** Interface the server binds (127.0.0.1 here; 0.0.0.0 behind host networking in production). */
  host: string;
  port: number;
  /** `vllm serve` arguments from models/sizing.ts `vllmLaunchArgs`, or llama-server's (port included). */
  launchArgs: readonly string[];
  /** Extra environment of this replica (e.g. VLLM_ALLOW_RUNTIME_LORA_UPDATING for LoRA pools). */
  env?: Readonly<Record<string, string>>;
  /** Read-only bind mounts `host:container:ro` (docker driver; e.g. the pool's LoRA adapter folder). */
  mounts?: readonly string[];
  /** Set for llama-server replicas: what runs instead of vLLM (or the stand-in) and where its GGUF is. */
  engine?: LlamaCppReplicaEngine;
}

/** How a driver runs a llama-server replica: the host binary (local driver) or the image (docker driver). */
export interface LlamaCppReplicaEngine {
  kind: 'llamacpp';
  /** llama-server on this host and the environment it needs (shared-library path). */
  binary: string;
  env: Readonly<Record<string, string>>;
  /** The GGUF on this host; the docker driver mounts its directory read-only. */
  modelFile: string;
  /** `image:tag` for the docker driver. */
  image: string;
  /** The command line with a different model path (inside a container). */
  argsFor(modelFile: string): string[];
}

export type ReplicaPhase = 'starting' | 'running' | 'exited';

/** A replica as its driver sees it (from its own records, container labels or state files). */
export interface ReplicaInfo {
  replicaId: string;
  pool: string;
  model: ModelId | (string & {});
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

// The router's pool API (register/drain replicas, read load, spill-over advice) is defined by the router.
export type {
  ReplicaEndpoint,
  DrainOptions,
  DrainResult,
  PoolRegistry,
  ReplicaSignals,
  PoolSignals,
  PoolSignalSource,
  SpillOverAdvice,
  SpillOverAdvisor,
} from '../core/pool-contracts.ts';

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
