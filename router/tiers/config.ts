// The complexity classifier's config: score cut points between tiers (set by `switchyard calibrate`) and optional
// feature-weight overrides. Which model each tier routes to lives in the router config (`auto.tiers`).
import { z } from 'zod';

export const FEATURE_NAMES = [
  'length',
  'context',
  'questions',
  'reasoning',
  'simple',
  'code',
  'math',
  'steps',
  'constraints',
  'turns',
  'structured',
  'tools',
] as const;
export const FeatureName = z.enum(FEATURE_NAMES);
export type FeatureName = z.infer<typeof FeatureName>;

/** Every feature is in [0,1]; the weights below map them onto a logit (see README for the reasoning). */
export const DEFAULT_WEIGHTS: Readonly<Record<FeatureName, number>> = {
  length: 2.2,
  context: 0.6,
  questions: 0.8,
  reasoning: 2.6,
  simple: -1.6,
  code: 1.4,
  math: 1.2,
  steps: 1.0,
  constraints: 0.8,
  turns: 0.4,
  structured: 0.4,
  tools: 0.3,
};
export const DEFAULT_BIAS = -3.0;
export const DEFAULT_THRESHOLDS: readonly number[] = [0.35, 0.65];

export const TierConfig = z
  .strictObject({
    /** Ascending cut points in [0,1]: n thresholds make n+1 tiers; tier i takes thresholds[i-1] ≤ score < thresholds[i]. */
    thresholds: z.array(z.number().min(0).max(1)).default(() => [...DEFAULT_THRESHOLDS]),
    /** Per-feature weight overrides (logit units); unspecified features keep DEFAULT_WEIGHTS. */
    weights: z.partialRecord(FeatureName, z.number().min(-20).max(20)).default({}),
    bias: z.number().min(-20).max(20).default(DEFAULT_BIAS),
  })
  .refine((config) => config.thresholds.every((value, index, all) => index === 0 || value >= all[index - 1]!), {
    message: 'thresholds must be in ascending order',
    path: ['thresholds'],
  });
export type TierConfig = z.infer<typeof TierConfig>;
export type TierConfigInput = z.input<typeof TierConfig>;

/** The router config calls it the classifier config (`auto.classifier`); same schema. */
export const TierClassifierConfig = TierConfig;
export type TierClassifierConfig = TierConfig;

export const DEFAULT_TIER_CONFIG: TierConfig = TierConfig.parse({});
