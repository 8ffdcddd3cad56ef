// Config sections of the verified chain: `models[].chain` defaults, the prompt rollout (`prompts:`) and the request
// log (`requestLog:`). The request's own `chain` field is parsed in router/chain/request.ts.
import { z } from 'zod';

export const OnFail = z.enum(['regenerate', 'flag']);
export type OnFail = z.infer<typeof OnFail>;

/** Per-model defaults (`models[].chain`): every request to the model runs the chain unless it sends `chain: false`. */
export const ModelChainConfig = z.strictObject({
  enabled: z.boolean().default(true),
  /** Retrieval index searched by the `retrieve` step. */
  index: z.string().min(1).default('default'),
  topK: z.number().int().min(1).max(50).default(5),
  analyze: z.boolean().default(true),
  /** HyDE: a hypothetical answer is generated and searched for together with the rewritten query. */
  hyde: z.boolean().default(false),
  verify: z.boolean().default(true),
  /** Router model (or alias) that verifies; default: the first `auto` tier, else the answering model. */
  verifierModel: z.string().optional(),
  /** Router model for analyze / HyDE; default: the verifier's. */
  analyzeModel: z.string().optional(),
  onFail: OnFail.default('regenerate'),
  /** Verifier calls per verification when its output is not valid (the first included). */
  maxVerifyAttempts: z.number().int().min(1).max(5).default(2),
});
export type ModelChainConfig = z.infer<typeof ModelChainConfig>;

/** `prompts:` — where prompt files live and how versions roll out. */
export const PromptsSectionConfig = z.strictObject({
  /** Prompt folders; the chain's shipped prompts are always loaded first. */
  dirs: z.array(z.string()).default([]),
  /**
   * Active-version pointers, A/B weights and rollback history (written by `switchyard prompts`, watched); default
   * `$SWITCHYARD_PROMPT_ROLLOUT`, else `.switchyard/prompt-rollout.yaml`.
   */
  rolloutFile: z.string().optional(),
  /** Reload prompt files and the rollout file when they change (no restart). */
  watch: z.boolean().default(true),
});
export type PromptsSectionConfig = z.infer<typeof PromptsSectionConfig>;

/** `requestLog:` — one JSON line per chained request and per feedback, read by feedback and `eval add-case`. */
export const RequestLogSectionConfig = z.strictObject({
  enabled: z.boolean().default(true),
  /** Default `$SWITCHYARD_REQUEST_LOG`, else `.switchyard/requests.jsonl` (where `eval add-case` looks). */
  path: z.string().optional(),
  /**
   * Keep request messages and answers (needed by `eval add-case --from-request`). Off by default, as LiteLLM and vLLM
   * keep prompts out of their logs unless asked: prompts and answers on disk are a privacy decision for the operator.
   * Off keeps ids, prompts' versions, models, scores and latency.
   */
  bodies: z.boolean().default(false),
});
export type RequestLogSectionConfig = z.infer<typeof RequestLogSectionConfig>;

export function rolloutFilePath(section: PromptsSectionConfig, environment: NodeJS.ProcessEnv = process.env): string {
  return section.rolloutFile ?? environment['SWITCHYARD_PROMPT_ROLLOUT'] ?? '.switchyard/prompt-rollout.yaml';
}

export function requestLogPath(section: RequestLogSectionConfig, environment: NodeJS.ProcessEnv = process.env): string {
  return section.path ?? environment['SWITCHYARD_REQUEST_LOG'] ?? '.switchyard/requests.jsonl';
}
