// The deploy configuration (zod; types derived): pools to run, the driver and its options, GPU inventory, telemetry
// and the autoscaler policy. `resolvePool` fills in what the catalog decides (tensor-parallel size, launch args).
import { z } from 'zod';
import { Dtype, MODELS, ModelId } from '../models/catalog/models.ts';
import { GPUS, GpuId } from '../models/catalog/gpus.ts';
import { fits, smallestTensorParallel, vllmLaunchArgs } from '../models/sizing.ts';
import { DeployConfigError } from './errors.ts';
import { AutoscalerPolicy } from './autoscaler/policy.ts';
import { LlamaCppServerOptions, llamaServerArgs } from './engines/llamacpp/config.ts';

export const LoraPoolConfig = z.strictObject({
  maxLoras: z.number().int().min(1).default(1),
  maxLoraRank: z.number().int().min(1).default(16),
  maxCpuLoras: z.number().int().min(1).optional(),
  /** Registered at start-up; `path` as the replica sees it (inside the container: under `containerDir`). */
  modules: z.array(z.strictObject({ name: z.string().min(1), path: z.string().min(1) })).default([]),
  /** Serve /v1/load_lora_adapter so the router can load adapters on demand. */
  runtimeUpdating: z.boolean().default(true),
  /** Host folder of adapters, mounted read-only at `containerDir` by the docker driver. */
  hostDir: z.string().min(1).optional(),
  containerDir: z.string().min(1).default('/adapters'),
});
export type LoraPoolConfig = z.output<typeof LoraPoolConfig>;

export const PoolConfig = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,40}$/, 'lower-case letters, digits and dashes'),
  /** Catalog model and GPU of a vLLM pool (required there); a llama.cpp pool names its GGUF under `llamacpp`. */
  model: ModelId.optional(),
  gpu: GpuId.optional(),
  dtype: Dtype.default('bf16'),
  /** Default: the smallest TP at which the model fits on `gpu` (models/sizing.ts). */
  tensorParallel: z.number().int().positive().optional(),
  replicas: z.number().int().min(0).default(1),
  minReplicas: z.number().int().min(0).default(0),
  maxReplicas: z.number().int().min(1).default(4),
  maxNumSeqs: z.number().int().positive().optional(),
  maxModelLen: z.number().int().positive().optional(),
  gpuMemoryUtilization: z.number().gt(0).max(1).optional(),
  /** LoRA adapters (`--enable-lora …`); runtime loading sets VLLM_ALLOW_RUNTIME_LORA_UPDATING=True for the router. */
  lora: LoraPoolConfig.optional(),
  /** Appended to the catalog's `vllm serve` arguments (e.g. `--enforce-eager`, `--num-gpu-blocks-override 64`). */
  extraArgs: z.array(z.string()).default([]),
  /** Bound on waiting for in-flight requests when a replica is removed. */
  drainTimeoutMs: z.number().int().positive().default(30_000),
  /** vLLM loads weights before /health answers: minutes for 70B. */
  healthTimeoutMs: z.number().int().positive().default(900_000),
  stopGraceMs: z.number().int().min(0).default(10_000),
  /** How long a new replica waits for free GPUs before its start fails (no retry until the next scale request). */
  gpuWaitTimeoutMs: z.number().int().positive().default(600_000),
  /** Run llama.cpp's llama-server instead of vLLM (CPU by default; no GPUs are taken from the inventory). */
  llamacpp: LlamaCppServerOptions.optional(),
});
export type PoolConfig = z.output<typeof PoolConfig>;

export const DockerConfig = z.strictObject({
  socketPath: z.string().default('/var/run/docker.sock'),
  image: z.string().default('vllm/vllm-openai'),
  tag: z.string().default('v0.11.0'),
  /** vLLM's tensor-parallel workers share memory through /dev/shm. */
  shmSizeBytes: z
    .number()
    .int()
    .positive()
    .default(16 * 1024 ** 3),
  /** Host directory mounted as the Hugging Face cache so weights are downloaded once per box. */
  hfCacheDir: z.string().default('/var/lib/switchyard/hf-cache'),
  /** Name of the host environment variable whose value is passed as HF_TOKEN (the value is never logged). */
  hfTokenEnv: z.string().default('HF_TOKEN'),
  restartPolicy: z.enum(['no', 'on-failure', 'unless-stopped', 'always']).default('on-failure'),
  restartMaxRetries: z.number().int().min(0).default(3),
  /** Request GPUs through DeviceRequests (false only where no NVIDIA runtime exists, e.g. CI with the stand-in). */
  requestGpus: z.boolean().default(true),
  /** Extra environment for every container (e.g. the stand-in's SWITCHYARD_SIM_SPEED). */
  env: z.record(z.string(), z.string()).default({}),
});
export type DockerConfig = z.output<typeof DockerConfig>;

export const DeployConfig = z.strictObject({
  driver: z.enum(['local', 'docker']).default('local'),
  /** Interface replicas bind; 127.0.0.1 keeps them off the network (the router runs on the same box). */
  host: z.string().default('127.0.0.1'),
  /** GPU ids of this host; 'auto' asks nvidia-smi; a number makes that many virtual ids (simulator pools). */
  gpus: z.union([z.literal('auto'), z.number().int().min(0).max(64), z.array(z.string().min(1))]).default(4),
  stateDir: z.string().default('.switchyard/deploy'),
  /**
   * Names this deployment on a shared engine (docker label `io.switchyard.deployment`). Default: derived from the
   * resolved stateDir, so every command run with the same config finds the same containers and two configs with
   * different state directories never touch each other's.
   */
  deploymentId: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,40}$/, 'lower-case letters, digits and dashes')
    .optional(),
  simSpeed: z.number().positive().default(1),
  docker: DockerConfig.default(DockerConfig.parse({})),
  telemetry: z
    .strictObject({
      source: z.enum(['none', 'nvidia-smi', 'dcgm']).default('none'),
      dcgmUrl: z.string().url().default('http://127.0.0.1:9400/metrics'),
    })
    .default({ source: 'none', dcgmUrl: 'http://127.0.0.1:9400/metrics' }),
  autoscaler: AutoscalerPolicy.default(AutoscalerPolicy.parse({})),
  pools: z.array(PoolConfig).min(1),
});
export type DeployConfig = z.output<typeof DeployConfig>;

/** Validate input, naming the failing path: `pools[0].gpu: Invalid option …`. */
export function parseDeployConfig(input: unknown): DeployConfig {
  const result = DeployConfig.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = issue.path
      .map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`))
      .join('');
    throw new DeployConfigError(`${path || '(root)'}: ${issue.message}`, path || null);
  }
  const names = result.data.pools.map((pool) => pool.name);
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate) throw new DeployConfigError(`pools: duplicate pool name "${duplicate}"`, 'pools');
  for (const [index, pool] of result.data.pools.entries()) {
    if (pool.minReplicas > pool.maxReplicas) {
      throw new DeployConfigError(
        `pools[${index}]: minReplicas ${pool.minReplicas} > maxReplicas ${pool.maxReplicas}`,
        `pools[${index}]`,
      );
    }
    resolvePool(pool, `pools[${index}]`);
  }
  return result.data;
}

export interface ResolvedVllmPool extends PoolConfig {
  engine: 'vllm';
  model: ModelId;
  gpu: GpuId;
  tensorParallel: number;
}

/** A llama-server pool: `model` is the name it serves, no GPUs are granted (`tensorParallel` 0). */
export interface ResolvedLlamaCppPool extends Omit<PoolConfig, 'model' | 'gpu'> {
  engine: 'llamacpp';
  model: string;
  gpu: 'cpu';
  tensorParallel: 0;
  llamacpp: LlamaCppServerOptions;
  /** Filled by deploy/engines/llamacpp/prepare.ts before replicas start: the binary and the GGUF on this host. */
  runtime?: { binary: string; env: Readonly<Record<string, string>>; modelFile: string };
}

export type ResolvedPool = ResolvedVllmPool | ResolvedLlamaCppPool;

/** Fix the tensor-parallel size from the catalog and check that the deployment fits. */
export function resolvePool(pool: PoolConfig, path = 'pool'): ResolvedPool {
  if (pool.llamacpp) {
    const { model: _model, gpu: _gpu, ...rest } = pool;
    const name =
      pool.llamacpp.alias ??
      (pool.llamacpp.model === 'tiny'
        ? 'tiny-llama'
        : pool.llamacpp.model
            .split('/')
            .pop()!
            .replace(/\.gguf$/i, ''));
    return { ...rest, engine: 'llamacpp', model: name, gpu: 'cpu', tensorParallel: 0, llamacpp: pool.llamacpp };
  }
  if (pool.model === undefined || pool.gpu === undefined) {
    const missing = pool.model === undefined ? 'model' : 'gpu';
    throw new DeployConfigError(
      `${path}.${missing}: a vLLM pool needs a catalog ${missing} (or set llamacpp for a llama-server pool)`,
      `${path}.${missing}`,
    );
  }
  const model = MODELS[pool.model];
  const gpu = GPUS[pool.gpu];
  const tensorParallel = pool.tensorParallel ?? smallestTensorParallel({ model, gpu, dtype: pool.dtype });
  if (tensorParallel === undefined) {
    throw new DeployConfigError(`${path}: ${pool.model} (${pool.dtype}) does not fit on up to 8× ${pool.gpu}`, path);
  }
  const fit = fits({ model, gpu, dtype: pool.dtype, tensorParallel });
  if (!fit.fits)
    throw new DeployConfigError(`${path}: ${pool.model} on ${tensorParallel}× ${pool.gpu}: ${fit.reason}`, path);
  return { ...pool, engine: 'vllm', model: pool.model, gpu: pool.gpu, tensorParallel };
}

/** The server command line (`vllm serve` or llama-server arguments) of one replica of `pool` on `port`. */
export function launchArgsFor(pool: ResolvedPool, port: number, host: string): string[] {
  if (pool.engine === 'llamacpp') {
    if (!pool.runtime)
      throw new DeployConfigError(`pool ${pool.name}: llama-server not prepared (no binary or model file)`, pool.name);
    return llamaServerArgs(pool.llamacpp, pool.runtime.modelFile, port, host);
  }
  const deployment = {
    model: MODELS[pool.model],
    gpu: GPUS[pool.gpu],
    dtype: pool.dtype,
    tensorParallel: pool.tensorParallel,
    ...(pool.gpuMemoryUtilization === undefined ? {} : { gpuMemoryUtilization: pool.gpuMemoryUtilization }),
  };
  const options = {
    port,
    ...(pool.maxNumSeqs === undefined ? {} : { maxNumSeqs: pool.maxNumSeqs }),
    ...(pool.maxModelLen === undefined ? {} : { maxModelLen: pool.maxModelLen }),
    ...(pool.lora ? { lora: pool.lora } : {}),
  };
  return [...vllmLaunchArgs(deployment, options), '--host', host, ...pool.extraArgs];
}

/** Environment and read-only mounts a replica of `pool` needs besides its command line (LoRA). */
export function replicaExtrasFor(pool: Pick<PoolConfig, 'lora'>): { env: Record<string, string>; mounts: string[] } {
  const lora = pool.lora;
  if (!lora) return { env: {}, mounts: [] };
  return {
    env: lora.runtimeUpdating ? { VLLM_ALLOW_RUNTIME_LORA_UPDATING: 'True' } : {},
    mounts: lora.hostDir ? [`${lora.hostDir}:${lora.containerDir}:ro`] : [],
  };
}
