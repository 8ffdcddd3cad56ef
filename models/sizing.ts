// What fits where: weights + activation reserve + KV cache within gpu_memory_utilization, the way vLLM budgets memory.
import { type Dtype, type ModelSpec, kvBytesPerToken, weightBytes } from './catalog/models.ts';
import type { GpuSpec } from './catalog/gpus.ts';

export const KV_BLOCK_TOKENS = 16;
export const DEFAULT_GPU_MEMORY_UTILIZATION = 0.9;
export const DEFAULT_MAX_NUM_SEQS = 256;
export const DEFAULT_MAX_NUM_BATCHED_TOKENS = 8192;
/** vLLM allows only tensor-parallel sizes that split the attention heads evenly; nodes have at most 8 GPUs. */
export const TENSOR_PARALLEL_SIZES = [1, 2, 4, 8] as const;
/** CUDA context, NCCL buffers and CUDA-graph pools: memory vLLM cannot give to the KV cache (per GPU). */
const NON_TORCH_RESERVE_BYTES = 0.75e9;
/** The smallest KV cache worth serving with: a few concurrent ordinary chats. */
export const DEFAULT_MIN_KV_TOKENS = 4096;

export interface Deployment {
  model: ModelSpec;
  gpu: GpuSpec;
  tensorParallel: number;
  dtype: Dtype;
  gpuMemoryUtilization?: number;
  maxNumBatchedTokens?: number;
}

/** Peak activation memory of one forward pass over `maxNumBatchedTokens` tokens on one GPU, plus the fixed reserve. */
export function activationReserveBytes(deployment: Deployment): number {
  const { model, tensorParallel } = deployment;
  const tokens = deployment.maxNumBatchedTokens ?? DEFAULT_MAX_NUM_BATCHED_TOKENS;
  // Residual + attention projections and the gate/up FFN intermediates (sharded by TP), 16-bit.
  const perToken = (4 * model.hiddenSize + (2 * model.intermediateSize) / tensorParallel) * 2;
  return NON_TORCH_RESERVE_BYTES + tokens * perToken;
}

/** Bytes left for the KV cache across all GPUs of the deployment (negative when the weights do not fit). */
export function kvCacheBytes(deployment: Deployment): number {
  const utilization = deployment.gpuMemoryUtilization ?? DEFAULT_GPU_MEMORY_UTILIZATION;
  const perGpu =
    deployment.gpu.memoryBytes * utilization -
    weightBytes(deployment.model, deployment.dtype) / deployment.tensorParallel -
    activationReserveBytes(deployment);
  return perGpu * deployment.tensorParallel;
}

export function kvCapacityTokens(deployment: Deployment): number {
  const bytes = kvCacheBytes(deployment);
  return bytes <= 0 ? 0 : Math.floor(bytes / kvBytesPerToken(deployment.model));
}

export function kvCapacityBlocks(deployment: Deployment): number {
  return Math.floor(kvCapacityTokens(deployment) / KV_BLOCK_TOKENS);
}

export function isValidTensorParallel(model: ModelSpec, tensorParallel: number): boolean {
  return (
    (TENSOR_PARALLEL_SIZES as readonly number[]).includes(tensorParallel) &&
    model.attentionHeads % tensorParallel === 0 &&
    (model.kvHeads % tensorParallel === 0 || tensorParallel % model.kvHeads === 0)
  );
}

export interface FitResult {
  fits: boolean;
  kvCapacityTokens: number;
  reason: string;
}

export function fits(deployment: Deployment, minKvTokens = DEFAULT_MIN_KV_TOKENS): FitResult {
  const { model, tensorParallel } = deployment;
  if (!isValidTensorParallel(model, tensorParallel)) {
    return {
      fits: false,
      kvCapacityTokens: 0,
      reason: `tensor-parallel size ${tensorParallel} does not split ${model.attentionHeads} heads`,
    };
  }
  const capacity = kvCapacityTokens(deployment);
  if (capacity < minKvTokens) {
    const weightsGb = weightBytes(model, deployment.dtype) / 1e9;
    return {
      fits: false,
      kvCapacityTokens: capacity,
      reason: `${weightsGb.toFixed(1)} GB of weights leave room for ${capacity} KV tokens on ${tensorParallel}× ${deployment.gpu.id} (< ${minKvTokens})`,
    };
  }
  return { fits: true, kvCapacityTokens: capacity, reason: `${capacity} KV tokens free` };
}

/** The smallest tensor-parallel size at which the model fits, or undefined when even 8 GPUs are not enough. */
export function smallestTensorParallel(
  deployment: Omit<Deployment, 'tensorParallel'>,
  minKvTokens = DEFAULT_MIN_KV_TOKENS,
): number | undefined {
  return TENSOR_PARALLEL_SIZES.find((tensorParallel) => fits({ ...deployment, tensorParallel }, minKvTokens).fits);
}

export interface LaunchOptions {
  port?: number;
  maxNumSeqs?: number;
  maxModelLen?: number;
  /** LoRA serving: `--enable-lora` and its settings (vLLM's defaults when unset: max_loras 1, rank 16). */
  lora?: LoraLaunchOptions;
}

export interface LoraLaunchOptions {
  maxLoras?: number | undefined;
  maxLoraRank?: number | undefined;
  maxCpuLoras?: number | undefined;
  /** Adapters registered at start-up (`--lora-modules name=path …`), paths as the server sees them. */
  modules?: ReadonlyArray<{ name: string; path: string }>;
}

/** vLLM's LoRA flags; `--lora-modules` takes several values, so the caller puts another flag after it. */
export function loraLaunchArgs(lora: LoraLaunchOptions): string[] {
  return [
    '--enable-lora',
    ...(lora.maxLoras === undefined ? [] : ['--max-loras', String(lora.maxLoras)]),
    ...(lora.maxLoraRank === undefined ? [] : ['--max-lora-rank', String(lora.maxLoraRank)]),
    ...(lora.maxCpuLoras === undefined ? [] : ['--max-cpu-loras', String(lora.maxCpuLoras)]),
    ...(lora.modules && lora.modules.length > 0
      ? ['--lora-modules', ...lora.modules.map((module) => `${module.name}=${module.path}`)]
      : []),
  ];
}

const QUANTIZATION_FLAG: Readonly<Record<Dtype, string[]>> = {
  bf16: ['--dtype', 'bfloat16'],
  fp8: ['--dtype', 'bfloat16', '--quantization', 'fp8'],
  'int4-awq': ['--dtype', 'float16', '--quantization', 'awq_marlin'],
};

/** The longest context the KV cache can hold for one sequence, capped at the model's own limit, in whole blocks. */
export function maxModelLen(deployment: Deployment): number {
  const capacity = kvCapacityTokens(deployment);
  const blocks = Math.floor(Math.min(capacity, deployment.model.maxContext) / KV_BLOCK_TOKENS);
  return blocks * KV_BLOCK_TOKENS;
}

/** The `vllm serve` arguments for a deployment; throws when it does not fit. */
export function vllmLaunchArgs(deployment: Deployment, options: LaunchOptions = {}): string[] {
  const fit = fits(deployment);
  if (!fit.fits) throw new Error(`${deployment.model.id} does not fit: ${fit.reason}`);
  const utilization = deployment.gpuMemoryUtilization ?? DEFAULT_GPU_MEMORY_UTILIZATION;
  return [
    '--model',
    deployment.model.huggingFaceId,
    '--served-model-name',
    deployment.model.id,
    '--tensor-parallel-size',
    String(deployment.tensorParallel),
    '--max-model-len',
    String(options.maxModelLen ?? maxModelLen(deployment)),
    '--gpu-memory-utilization',
    utilization.toFixed(2),
    '--enable-chunked-prefill',
    '--max-num-batched-tokens',
    String(deployment.maxNumBatchedTokens ?? DEFAULT_MAX_NUM_BATCHED_TOKENS),
    '--max-num-seqs',
    String(options.maxNumSeqs ?? DEFAULT_MAX_NUM_SEQS),
    '--enable-prefix-caching',
    ...QUANTIZATION_FLAG[deployment.dtype],
    ...(options.lora ? loraLaunchArgs(options.lora) : []),
    '--port',
    String(options.port ?? 8000),
  ];
}
