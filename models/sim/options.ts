// Options of one simulated replica (zod: the CLI, the fleet config and the child-process handshake all parse them).
import { z } from 'zod';
import { Dtype } from '../catalog/models.ts';
import { GpuId } from '../catalog/gpus.ts';
import { FaultConfig } from './faults.ts';
import { LoraOptions } from './lora.ts';

export const SimReplicaOptions = z.strictObject({
  /** Catalog model id (vLLM profile) or any API model name (hosted profile). */
  model: z.string().min(1),
  gpu: GpuId.default('h100'),
  tensorParallel: z.number().int().min(1).optional(),
  dtype: Dtype.default('bf16'),
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(0),
  /** Simulated time runs this many times faster than real time. */
  speed: z.number().positive().default(1),
  metricsGeneration: z.enum(['current', 'legacy']).default('current'),
  faults: FaultConfig.optional(),
  /** Slow start: simulated ms during which /health and the API answer 503. */
  loadingMs: z.number().min(0).default(0),
  maxNumSeqs: z.number().int().min(1).default(256),
  maxNumBatchedTokens: z.number().int().min(1).default(8192),
  maxModelLen: z.number().int().min(16).optional(),
  /** KV-cache size override in 16-token blocks (vLLM's --num-gpu-blocks-override). */
  kvBlocks: z.number().int().min(1).optional(),
  enablePrefixCaching: z.boolean().default(true),
  gpuMemoryUtilization: z.number().gt(0).max(1).default(0.9),
  servedModelName: z.string().min(1).optional(),
  profile: z.enum(['vllm', 'hosted']).default('vllm'),
  apiKey: z.string().min(1).optional(),
  responseMode: z.enum(['generate', 'echo', 'script']).default('generate'),
  scriptedText: z.string().optional(),
  /** `process` runs the replica in a child process (a crash fault then really kills a process). */
  isolation: z.enum(['in-process', 'process']).default('in-process'),
  hosted: z
    .strictObject({
      ttftMs: z.number().min(0).default(300),
      msPerToken: z.number().min(0).default(12),
      msPerPromptToken: z.number().min(0).default(0.02),
      /** Model names served (default: [servedModelName ?? model]). */
      models: z.array(z.string().min(1)).min(1).optional(),
    })
    .optional(),
  /** `--enable-lora` and its settings (adapters, max_loras, max_lora_rank, load cost); absent = no LoRA. */
  lora: LoraOptions.optional(),
  /** Seeds fault sampling. */
  seed: z.number().int().default(0),
});
export type SimReplicaOptions = z.input<typeof SimReplicaOptions>;
export type ResolvedSimReplicaOptions = z.output<typeof SimReplicaOptions>;
