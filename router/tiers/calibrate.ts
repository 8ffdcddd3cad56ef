// Calibration: choose thresholds so that a sample of real prompts splits across tiers in the wanted shares
// (e.g. 60 % small, 30 % large, 10 % hosted). Thresholds sit halfway between neighbouring sample scores, so the
// split is exact unless many prompts share one score (then the achieved shares are reported as they are).
import { CliError } from '../../core/errors.ts';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { ComplexityRequest } from './classify.ts';
import { extractFeatures, scoreFeatures, tierForScore } from './classify.ts';
import type { TierConfig } from './config.ts';
import { DEFAULT_TIER_CONFIG } from './config.ts';

/** `switchyard calibrate` input (shares, sample files) is unusable: a CLI refusal. */
export class CalibrationInputError extends CliError {}

export interface CalibrationResult {
  config: TierConfig;
  thresholds: number[];
  targetShares: number[];
  achievedShares: number[];
  sampleSize: number;
}

/** Parse "0.6,0.3,0.1" into shares; they must be positive and sum to 1 (within 0.001). */
export function parseShares(text: string): number[] {
  const shares = text.split(',').map((part) => Number(part.trim()));
  if (shares.length < 2) throw new CalibrationInputError('--shares needs at least two comma-separated numbers');
  if (shares.some((share) => !Number.isFinite(share) || share <= 0)) {
    throw new CalibrationInputError(`--shares must be positive numbers, got "${text}"`);
  }
  const total = shares.reduce((sum, share) => sum + share, 0);
  if (Math.abs(total - 1) > 1e-3) throw new CalibrationInputError(`--shares must sum to 1, got ${total.toFixed(4)}`);
  return shares;
}

/** Thresholds at the cumulative-share quantiles of the scores. */
export function thresholdsForShares(scores: readonly number[], shares: readonly number[]): number[] {
  if (scores.length === 0) throw new CalibrationInputError('no prompts to calibrate on');
  const sorted = [...scores].sort((a, b) => a - b);
  const thresholds: number[] = [];
  let cumulative = 0;
  for (let tier = 0; tier < shares.length - 1; tier++) {
    cumulative += shares[tier]!;
    const below = Math.min(sorted.length, Math.max(0, Math.round(cumulative * sorted.length)));
    let threshold: number;
    if (below <= 0)
      threshold = sorted[0]!; // nothing below: everyone reaches it
    else if (below >= sorted.length) threshold = Math.min(1, sorted[sorted.length - 1]! + 1e-9);
    else threshold = (sorted[below - 1]! + sorted[below]!) / 2;
    // Ascending even when several cut points fall on one score.
    thresholds.push(Math.max(threshold, thresholds[thresholds.length - 1] ?? 0));
  }
  return thresholds;
}

export function calibrate(
  requests: readonly ComplexityRequest[],
  shares: readonly number[],
  base: TierConfig = DEFAULT_TIER_CONFIG,
): CalibrationResult {
  const scores = requests.map((request) => scoreFeatures(extractFeatures(request), base));
  const thresholds = thresholdsForShares(scores, shares);
  const counts = new Array<number>(shares.length).fill(0);
  for (const score of scores) counts[tierForScore(score, thresholds)]!++;
  return {
    config: { ...base, thresholds },
    thresholds,
    targetShares: [...shares],
    achievedShares: counts.map((count) => count / scores.length),
    sampleSize: scores.length,
  };
}

const Message = z.looseObject({
  role: z.string(),
  content: z
    .union([z.string(), z.null(), z.array(z.looseObject({ type: z.string(), text: z.string().optional() }))])
    .optional(),
});
/** One JSONL line: a bare string, `{prompt}`, `{text}`, or a chat body `{messages, tools?, response_format?}`. */
const PromptLine = z.union([
  z.string().transform((text) => ({ text })),
  z.looseObject({
    messages: z.array(Message).min(1),
    tools: z.array(z.unknown()).nullish(),
    response_format: z.looseObject({ type: z.string().optional() }).nullish(),
  }),
  z.looseObject({ prompt: z.union([z.string(), z.array(z.string())]) }),
  z.looseObject({ text: z.string() }),
]);

export function parsePromptsJsonl(text: string, source = 'input'): ComplexityRequest[] {
  const requests: ComplexityRequest[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.trim();
    if (line === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new CalibrationInputError(`${source}:${index + 1}: not valid JSON`);
    }
    const parsed = PromptLine.safeParse(json);
    if (!parsed.success) {
      throw new CalibrationInputError(
        `${source}:${index + 1}: expected a string, {"prompt"}, {"text"} or {"messages": [...]}`,
      );
    }
    requests.push(parsed.data as ComplexityRequest);
  }
  return requests;
}

export async function calibrateFromFile(
  path: string,
  shares: readonly number[],
  base?: TierConfig,
): Promise<CalibrationResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CalibrationInputError(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return calibrate(parsePromptsJsonl(text, path), shares, base);
}
