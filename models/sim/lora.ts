// LoRA adapters served the way vLLM serves them (`--enable-lora`, `--lora-modules`, `--max-loras`, `--max-lora-rank`,
// `--max-cpu-loras`, `POST /v1/load_lora_adapter` / `unload_lora_adapter`). What the simulator keeps:
//   - the registry of adapter names → path and rank (what /v1/models lists with `parent`; unlimited, as vLLM's);
//   - a host (CPU) LRU cache of `maxCpuLoras` adapters: an adapter outside it is read from disk again (`loadMs`,
//     the engine stalls for it, as vLLM's worker loads synchronously inside the step that first needs it);
//   - `maxLoras` GPU slots: one engine step never mixes more distinct adapters than that (the scheduler skips a
//     waiting request whose adapter would exceed it); an adapter entering a slot is copied host → GPU over PCIe;
//   - a per-step cost for steps that carry adapters (see `loraStepCostMs`).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { ModelSpec } from '../catalog/models.ts';
import type { GpuSpec } from '../catalog/gpus.ts';
import { SimError } from './errors.ts';

/** vLLM accepts these `--max-lora-rank` values. */
export const LORA_RANKS = [1, 8, 16, 32, 64, 128, 256, 320, 512] as const;

export const LoraModule = z.strictObject({
  name: z.string().min(1),
  path: z.string().min(1),
  /** Base model name shown as `parent` in /v1/models (default: the served model name). */
  base: z.string().min(1).optional(),
});
export type LoraModule = z.infer<typeof LoraModule>;

export const LoraOptions = z.strictObject({
  /** `--lora-modules name=path …`: adapters registered at start-up. */
  modules: z.array(LoraModule).default([]),
  /** `--max-loras` (vLLM default 1): distinct adapters one engine step may carry. */
  maxLoras: z.number().int().min(1).default(1),
  /** `--max-lora-rank` (vLLM default 16): adapters of a larger rank are refused. */
  maxLoraRank: z
    .number()
    .int()
    .refine((rank) => (LORA_RANKS as readonly number[]).includes(rank), `must be one of ${LORA_RANKS.join(', ')}`)
    .default(16),
  /** `--max-cpu-loras` (vLLM default: maxLoras): adapters kept in host memory; others are read from disk again. */
  maxCpuLoras: z.number().int().min(1).optional(),
  /** Simulated ms to read one adapter from disk into host memory (the engine stalls meanwhile). */
  loadMs: z.number().min(0).default(300),
  /** vLLM's VLLM_ALLOW_RUNTIME_LORA_UPDATING: serve /v1/load_lora_adapter and /v1/unload_lora_adapter. */
  runtimeUpdating: z.boolean().default(false),
});
export type LoraOptionsInput = z.input<typeof LoraOptions>;
export type LoraOptions = z.output<typeof LoraOptions>;

/** `sim://<anything>?rank=N` names an adapter without files (benchmarks); any other path must exist like vLLM's. */
const VIRTUAL_PREFIX = 'sim://';

export interface RegisteredAdapter {
  name: string;
  path: string;
  rank: number;
  parent: string;
  /** vLLM's lora_int_id: 1, 2, … in registration order. */
  id: number;
}

/** PCIe 4.0 x16 in practice (~25 GB/s of the 32 GB/s line rate): host → GPU copies of adapter weights. */
const HOST_TO_GPU_BYTES_PER_S = 25e9;
/**
 * Punica (Chen et al., "Punica: Multi-Tenant LoRA Serving", arXiv 2310.18547) reports ~2 ms of added latency per
 * generated token for batched LoRA on a 32-layer 7B model (SGMV kernels); spread per layer that is ~0.06 ms.
 */
const LORA_MS_PER_LAYER = 2 / 32;
/** Share of datasheet bandwidth the gather of adapter weights achieves (same order as the base model's calibration). */
const ADAPTER_READ_EFFICIENCY = 0.9;

/** Bytes of a rank-`rank` adapter on every projection of every layer (q, k, v, o, gate, up, down), bf16. */
export function adapterBytes(model: ModelSpec, rank: number): number {
  const hidden = model.hiddenSize;
  const kv = model.kvHeads * model.headDim;
  const inter = model.intermediateSize;
  const q = model.attentionHeads * model.headDim;
  // Each adapted projection d_in → d_out adds A (d_in × r) and B (r × d_out).
  const perLayer = hidden + q + (hidden + kv) * 2 + (q + hidden) + (hidden + inter) * 2 + (inter + hidden);
  return perLayer * rank * model.layers * 2;
}

export interface LoraCostModel {
  /** Fixed ms a step pays when it carries at least one adapter (Punica's SGMV launches per layer). */
  perStepMs: number;
  /** ms to read one adapter's weights from GPU memory in a step (roofline; once per distinct adapter). */
  perAdapterMs(rank: number): number;
  /** ms to copy one adapter host → GPU when it takes a slot. */
  swapInMs(rank: number): number;
}

export function createLoraCostModel(model: ModelSpec, gpu: GpuSpec, tensorParallel: number): LoraCostModel {
  return {
    perStepMs: model.layers * LORA_MS_PER_LAYER,
    perAdapterMs: (rank) =>
      (adapterBytes(model, rank) / tensorParallel / (gpu.memoryBandwidth * ADAPTER_READ_EFFICIENCY)) * 1000,
    swapInMs: (rank) => (adapterBytes(model, rank) / tensorParallel / HOST_TO_GPU_BYTES_PER_S) * 1000,
  };
}

/** Reads the rank of a PEFT adapter folder (`adapter_config.json` → `r`), or of a `sim://…?rank=N` name. */
export function adapterRank(name: string, path: string, defaultRank: number): number {
  if (path.startsWith(VIRTUAL_PREFIX)) {
    const match = /[?&]rank=(\d+)/.exec(path);
    return match ? Number(match[1]) : defaultRank;
  }
  const configPath = join(path, 'adapter_config.json');
  if (!existsSync(path) || !statSync(path).isDirectory() || !existsSync(configPath)) {
    throw new SimError('not_found', `Loading lora ${name} failed: No adapter found for ${path}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch {
    throw new SimError('bad_request', `Loading lora ${name} failed: ${configPath} is not valid JSON`);
  }
  const rank = (parsed as { r?: unknown }).r;
  if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 1) {
    throw new SimError('bad_request', `Loading lora ${name} failed: adapter_config.json has no integer "r"`);
  }
  return rank;
}

/**
 * The adapter registry and the host cache. The engine asks it what a step costs (`stepExtraMs`) and whether an
 * adapter may join a step (`fits`); the HTTP layer registers and removes adapters.
 */
export class LoraManager {
  readonly options: LoraOptions;
  private readonly adapters = new Map<string, RegisteredAdapter>();
  /** Host cache, least recently used first. */
  private readonly hostCache: string[] = [];
  /** GPU slots, least recently used first. */
  private readonly gpuSlots: string[] = [];
  private nextId = 1;
  /** Adapters read from disk (start-up and dynamic loads included). */
  diskLoads = 0;

  constructor(
    options: LoraOptions,
    private readonly baseModel: string,
    private readonly cost: LoraCostModel,
  ) {
    this.options = options;
    if (this.maxCpuLoras < options.maxLoras) throw new Error('max_cpu_loras must be ≥ max_loras');
  }

  get maxCpuLoras(): number {
    return this.options.maxCpuLoras ?? this.options.maxLoras;
  }

  names(): string[] {
    return [...this.adapters.keys()];
  }

  list(): readonly RegisteredAdapter[] {
    return [...this.adapters.values()];
  }

  has(name: string): boolean {
    return this.adapters.has(name);
  }

  /**
   * Validate and register an adapter (vLLM's checks and wording). Returns the simulated ms its disk read takes;
   * the caller stalls the engine for it. `base` is the parent shown in /v1/models.
   */
  register(name: string, path: string, base?: string): number {
    if (this.adapters.has(name)) {
      throw new SimError(
        'invalid_user_input',
        `The lora adapter '${name}' has already been loaded. If you want to load the adapter in place, set 'load_inplace' to True.`,
      );
    }
    if (name === this.baseModel) {
      throw new SimError('invalid_user_input', `The lora adapter name '${name}' conflicts with a served base model.`);
    }
    const rank = adapterRank(name, path, this.options.maxLoraRank);
    if (rank > this.options.maxLoraRank) {
      throw new SimError('bad_request', `LoRA rank ${rank} is greater than max_lora_rank ${this.options.maxLoraRank}.`);
    }
    this.adapters.set(name, { name, path, rank, parent: base ?? this.baseModel, id: this.nextId++ });
    return this.toHost(name);
  }

  unregister(name: string): void {
    if (!this.adapters.delete(name)) {
      throw new SimError('not_found', `The lora adapter '${name}' cannot be found.`);
    }
    remove(this.hostCache, name);
    remove(this.gpuSlots, name);
  }

  /** May a step that already carries `inStep` adapters also take a request of `adapter`? */
  fits(inStep: ReadonlySet<string>, adapter: string | undefined): boolean {
    if (adapter === undefined || inStep.has(adapter)) return true;
    return inStep.size < this.options.maxLoras;
  }

  /**
   * Extra simulated ms of a step carrying `inStep` adapters: disk reads of adapters not in the host cache, host →
   * GPU copies of adapters not in a GPU slot, the adapter weight reads and the fixed per-step LoRA kernel cost.
   * Updates both caches (the step's adapters become most recently used).
   */
  stepExtraMs(inStep: ReadonlySet<string>): number {
    if (inStep.size === 0) return 0;
    let ms = this.cost.perStepMs;
    for (const name of inStep) {
      const adapter = this.adapters.get(name);
      const rank = adapter?.rank ?? this.options.maxLoraRank;
      ms += this.toHost(name, inStep);
      if (touch(this.gpuSlots, name)) {
        ms += this.cost.swapInMs(rank);
        evictBeyond(this.gpuSlots, this.options.maxLoras, inStep);
      }
      ms += this.cost.perAdapterMs(rank);
    }
    return ms;
  }

  /** Bring an adapter into the host cache (most recently used); returns the disk-read ms (0 when cached). */
  private toHost(name: string, pinned: ReadonlySet<string> = new Set()): number {
    const missed = touch(this.hostCache, name);
    if (!missed) return 0;
    this.diskLoads++;
    evictBeyond(this.hostCache, this.maxCpuLoras, pinned);
    return this.options.loadMs;
  }
}

function remove(list: string[], name: string): void {
  const index = list.indexOf(name);
  if (index >= 0) list.splice(index, 1);
}

/** Move `name` to the most-recently-used end; true when it was not there (a miss). */
function touch(list: string[], name: string): boolean {
  const index = list.indexOf(name);
  if (index >= 0) list.splice(index, 1);
  list.push(name);
  return index < 0;
}

/** Drop least recently used entries (never a pinned one) until at most `capacity` remain. */
function evictBeyond(list: string[], capacity: number, pinned: ReadonlySet<string>): void {
  for (let index = 0; list.length > capacity && index < list.length;) {
    if (pinned.has(list[index]!)) index++;
    else list.splice(index, 1);
  }
}

/** `name=path` (vLLM's older form) or JSON `{"name","path","base_model_name"}` (its newer form) → a module. */
export function parseLoraModule(spec: string): LoraModule {
  const trimmed = spec.trim();
  if (trimmed.startsWith('{')) {
    const parsed = z
      .strictObject({ name: z.string().min(1), path: z.string().min(1), base_model_name: z.string().min(1).optional() })
      .parse(JSON.parse(trimmed));
    return {
      name: parsed.name,
      path: parsed.path,
      ...(parsed.base_model_name ? { base: parsed.base_model_name } : {}),
    };
  }
  const equals = trimmed.indexOf('=');
  if (equals <= 0 || equals === trimmed.length - 1) {
    throw new Error(`--lora-modules expects name=path or a JSON object, got "${spec}"`);
  }
  return { name: trimmed.slice(0, equals), path: trimmed.slice(equals + 1) };
}
