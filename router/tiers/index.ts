// Public surface of router/tiers: the complexity classifier for model `auto` and its calibration.
export {
  TierConfig,
  TierClassifierConfig,
  FeatureName,
  FEATURE_NAMES,
  DEFAULT_WEIGHTS,
  DEFAULT_BIAS,
  DEFAULT_THRESHOLDS,
  DEFAULT_TIER_CONFIG,
} from './config.ts';
export type { TierConfigInput } from './config.ts';
export { classifyComplexity, extractFeatures, scoreFeatures, tierForScore } from './classify.ts';
export type { ComplexityRequest, ComplexityMessage, ComplexityFeatures, ComplexityResult } from './classify.ts';
export {
  calibrate,
  calibrateFromFile,
  parsePromptsJsonl,
  parseShares,
  thresholdsForShares,
  CalibrationInputError,
} from './calibrate.ts';
export type { CalibrationResult } from './calibrate.ts';
