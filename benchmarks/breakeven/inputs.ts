// Inputs of `switchyard breakeven`, validated once; the CLI maps flags onto this schema.
import { z } from 'zod';
import { GpuId } from '../../models/catalog/gpus.ts';
import { ModelId } from '../../models/catalog/models.ts';

export const ThroughputSource = z.discriminatedUnion('source', [
  /** From the calibrated step-time model at a latency SLO. */
  z.object({ source: z.literal('estimate'), tpotMs: z.number().positive(), ttftMs: z.number().positive().optional() }),
  /** From a `switchyard bench` result file: the sweep step with the highest goodput (or throughput without SLOs). */
  z.object({ source: z.literal('bench'), path: z.string().min(1) }),
  /** Given directly: total (input + output) tokens/s one replica sustains. */
  z.object({ source: z.literal('given'), tokensPerS: z.number().positive() }),
]);
export type ThroughputSource = z.infer<typeof ThroughputSource>;

export const BreakevenInput = z.object({
  model: ModelId,
  gpu: GpuId,
  /** GPUs per replica (tensor-parallel size); default: the smallest that fits. */
  gpusPerReplica: z.number().int().positive().optional(),
  /** A fixed fleet; default: as many replicas as requests/day needs at the target utilization. */
  replicas: z.number().int().positive().optional(),
  /** $ per GPU-hour; default: prices.yaml. */
  gpuHourly: z.number().positive().optional(),
  throughput: ThroughputSource,
  /** Average utilization the replicas run at (0–1]; also the ceiling used to size the fleet. */
  utilization: z.number().gt(0).max(1),
  /** Tokens per request; default: measured from the bench file, else 512 in / 256 out. */
  inputTokens: z.number().int().positive().optional(),
  outputTokens: z.number().int().positive().optional(),
  requestsPerDay: z.number().nonnegative(),
  apiModel: z.string().min(1).default('gpt-4o-mini'),
  /** $ per 1M tokens; default: prices.yaml's entry for apiModel. */
  apiInputPrice: z.number().nonnegative().optional(),
  apiOutputPrice: z.number().nonnegative().optional(),
  /** SLO the seed check estimates capacity at (also the default estimate SLO). */
  seedCheckTpotMs: z.number().positive().default(50),
  /** Per-GPU $/hour used by the seed check instead of the catalog's (e.g. an A100 contract price). */
  seedGpuHourly: z.partialRecord(GpuId, z.number().positive()).default({}),
});
export type BreakevenInput = z.infer<typeof BreakevenInput>;
export type BreakevenInputRaw = z.input<typeof BreakevenInput>;

export const DEFAULT_PROFILE = { inputTokens: 512, outputTokens: 256 } as const;
