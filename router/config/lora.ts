// The `lora:` section of switchyard.yaml: which LoRA adapters the router serves and on which base model's pools.
// Adapters are listed here (static) and/or discovered from the vLLM backends' /v1/models (`parent` = base model).
import { z } from 'zod';

const Name = z
  .string()
  .min(1)
  .regex(/^[A-Za-z0-9._:/-]+$/, 'use letters, digits and . _ : / - only');

export const LoraAdapterConfig = z.strictObject({
  /** Model name clients send (and the adapter's name on the vLLM replicas). */
  name: Name,
  /** Router model (name from `models`) whose vLLM pools serve this adapter's base model. */
  base: Name,
  /** Adapter folder as the replicas see it: what the router sends to /v1/load_lora_adapter when it loads it. */
  path: z.string().min(1).optional(),
});
export type LoraAdapterConfig = z.infer<typeof LoraAdapterConfig>;

export const LoraSectionConfig = z.strictObject({
  adapters: z.array(LoraAdapterConfig).default([]),
  /** Read every vLLM backend's /v1/models for adapters (entries with a `parent`) and where each is registered. */
  discover: z.boolean().default(true),
  discoverIntervalMs: z.number().int().min(100).default(10_000),
  /** Load an adapter through POST /v1/load_lora_adapter on a replica that lacks it (once per replica, shared). */
  loadOnDemand: z.boolean().default(true),
  /** Bound on one load request. */
  loadTimeoutMs: z.number().int().positive().default(30_000),
});
export type LoraSectionConfig = z.infer<typeof LoraSectionConfig>;
export type LoraSectionInput = z.input<typeof LoraSectionConfig>;

interface IssueSink {
  addIssue(issue: { code: 'custom'; path: Array<string | number>; message: string }): void;
}

/** Cross-checks against the rest of the config: bases exist, names do not clash with models or each other. */
export function checkLoraSection(
  lora: LoraSectionConfig,
  models: ReadonlyArray<{ name: string; aliases: readonly string[] }>,
  context: IssueSink,
): void {
  const modelNames = new Set(models.flatMap((model) => [model.name, ...model.aliases]));
  const seen = new Set<string>();
  lora.adapters.forEach((adapter, index) => {
    if (modelNames.has(adapter.name) || seen.has(adapter.name)) {
      context.addIssue({
        code: 'custom',
        path: ['lora', 'adapters', index, 'name'],
        message: `"${adapter.name}" is already used`,
      });
    }
    seen.add(adapter.name);
    if (!models.some((model) => model.name === adapter.base)) {
      context.addIssue({
        code: 'custom',
        path: ['lora', 'adapters', index, 'base'],
        message: `unknown model "${adapter.base}"`,
      });
    }
  });
}
