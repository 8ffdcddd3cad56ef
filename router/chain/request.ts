// The `chain` field of a chat request and the plan it resolves to. The request shape is strict: a typo is a 400
// naming it. The per-model defaults it merges over are the `models[].chain` config section (router/config/chain.ts).
import { z } from 'zod';
import { OnFail } from '../config/chain.ts';

const ExtraBody = z.record(z.string(), z.unknown());

const StepOverride = z.strictObject({
  model: z.string().min(1).optional(),
  /** Merged into this step's upstream body (vendor parameters such as vLLM's `vllm_xargs`). */
  extra_body: ExtraBody.optional(),
});

/** `chain` on a chat request as an object of overrides (`true` = model defaults or built-in ones, `false` = off). */
export const ChainRequestObject = z.strictObject({
  index: z.string().min(1).optional(),
  top_k: z.number().int().min(1).max(50).optional(),
  mode: z.enum(['lexical', 'vector', 'hybrid', 'rerank']).optional(),
  analyze: z.union([z.boolean(), StepOverride]).optional(),
  hyde: z.union([z.boolean(), StepOverride]).optional(),
  verify: z
    .union([z.boolean(), StepOverride.extend({ max_attempts: z.number().int().min(1).max(5).optional() })])
    .optional(),
  regenerate: StepOverride.optional(),
  on_fail: OnFail.optional(),
});
export const ChainRequest = z.union([z.boolean(), ChainRequestObject]);
export type ChainRequest = z.infer<typeof ChainRequest>;

export interface StepPlan {
  enabled: boolean;
  model: string | undefined;
  extraBody: Record<string, unknown>;
}

/** What one chained request will do, after merging request overrides over model defaults. */
export interface ChainPlan {
  index: string;
  topK: number;
  mode: 'lexical' | 'vector' | 'hybrid' | 'rerank' | undefined;
  analyze: StepPlan;
  hyde: StepPlan;
  verify: StepPlan & { maxAttempts: number };
  regenerate: StepPlan;
  onFail: OnFail;
}
