// Replica capacity estimated from the calibrated step-time model (models/step-time.ts) at a latency SLO: the largest
// steady-state batch whose per-token latency still meets the TPOT (and TTFT) target, within the KV cache.
//
// Steady state with chunked prefill: B sequences decode together; each of them also had to prefill its prompt, so per
// B requests the engine processes B·(in+out) tokens in n = max(out, ⌈B·(in+out)/maxBatchedTokens⌉) steps, each step
// carrying B decode tokens plus B·in/n prefill tokens. Then
//   step  = stepMs(B decodes at context in+out/2, one prefill chunk of B·in/n tokens)
//   TPOT ≈ step · n/out,  capacity = B / (n · step) requests/s,
//   TTFT ≈ one new prompt prefilled in chunks of (maxBatchedTokens − B) alongside the B decodes (no queueing).
import { type ModelSpec } from '../../models/catalog/models.ts';
import type { GpuSpec } from '../../models/catalog/gpus.ts';
import { DEFAULT_MAX_NUM_BATCHED_TOKENS, DEFAULT_MAX_NUM_SEQS, fits, kvCapacityTokens } from '../../models/sizing.ts';
import { createStepTimeModel } from '../../models/step-time.ts';
import { InvalidInputError } from '../loadgen/errors.ts';
import type { RequestProfile } from './formulas.ts';

export interface LatencySlo {
  tpotMs: number;
  ttftMs?: number;
}

export interface CapacityEstimate {
  requestsPerS: number;
  outputTokensPerS: number;
  totalTokensPerS: number;
  batch: number;
  stepMs: number;
  tpotMs: number;
  ttftMs: number;
  /** What stopped the batch from growing. */
  limitedBy: 'slo' | 'kv-cache' | 'max-num-seqs';
  kvCapacityTokens: number;
}

export interface EstimateOptions {
  model: ModelSpec;
  gpu: GpuSpec;
  tensorParallel: number;
  profile: RequestProfile;
  slo: LatencySlo;
  maxNumSeqs?: number;
  maxNumBatchedTokens?: number;
}

export function estimateCapacity(options: EstimateOptions): CapacityEstimate {
  const { model, gpu, tensorParallel, profile, slo } = options;
  const deployment = { model, gpu, tensorParallel, dtype: 'bf16' as const };
  const fit = fits(deployment);
  if (!fit.fits) throw new InvalidInputError(`${model.id} does not fit on ${tensorParallel}× ${gpu.id}: ${fit.reason}`);
  const stepModel = createStepTimeModel({ model, gpu, tensorParallel });
  const maxNumSeqs = options.maxNumSeqs ?? DEFAULT_MAX_NUM_SEQS;
  const budget = options.maxNumBatchedTokens ?? DEFAULT_MAX_NUM_BATCHED_TOKENS;
  const kvTokens = kvCapacityTokens(deployment);
  const perRequestTokens = profile.inputTokens + profile.outputTokens;
  const kvLimit = Math.floor(kvTokens / perRequestTokens);
  const context = profile.inputTokens + profile.outputTokens / 2;

  const firstTokenMs = (batch: number) => {
    const chunk = Math.max(1, budget - batch);
    const chunks = Math.ceil(profile.inputTokens / chunk);
    const mixed = stepModel.stepMs({
      decodeSequences: batch,
      decodeContextTokens: batch * context,
      prefills: [{ tokens: Math.min(chunk, profile.inputTokens), cachedTokens: 0 }],
    });
    return mixed * chunks;
  };
  const evaluate = (batch: number) => {
    const steps = Math.max(profile.outputTokens, Math.ceil((batch * perRequestTokens) / budget));
    const prefillPerStep = (batch * profile.inputTokens) / steps;
    const stepMs = stepModel.stepMs({
      decodeSequences: batch,
      decodeContextTokens: batch * context,
      prefills: prefillPerStep > 0 ? [{ tokens: prefillPerStep, cachedTokens: 0 }] : [],
    });
    return {
      batch,
      stepMs,
      tpotMs: (stepMs * steps) / profile.outputTokens,
      ttftMs: firstTokenMs(batch),
      requestsPerS: (batch / (steps * stepMs)) * 1000,
    };
  };
  const meets = (candidate: ReturnType<typeof evaluate>) =>
    candidate.tpotMs <= slo.tpotMs && (slo.ttftMs === undefined || candidate.ttftMs <= slo.ttftMs);

  const upper = Math.min(maxNumSeqs, kvLimit);
  if (upper < 1)
    throw new InvalidInputError(`one ${perRequestTokens}-token request does not fit the ${kvTokens}-token KV cache`);
  let best: ReturnType<typeof evaluate> | undefined;
  let limitedBy: CapacityEstimate['limitedBy'] = kvLimit < maxNumSeqs ? 'kv-cache' : 'max-num-seqs';
  for (let batch = 1; batch <= upper; batch += 1) {
    const candidate = evaluate(batch);
    if (!meets(candidate)) {
      limitedBy = 'slo';
      break;
    }
    if (!best || candidate.requestsPerS > best.requestsPerS) best = candidate;
  }
  if (!best) {
    const single = evaluate(1);
    throw new InvalidInputError(
      `no batch meets the SLO on ${tensorParallel}× ${gpu.id}: even one request needs TPOT ${single.tpotMs.toFixed(1)} ms / TTFT ${single.ttftMs.toFixed(0)} ms`,
    );
  }
  return {
    requestsPerS: best.requestsPerS,
    outputTokensPerS: best.requestsPerS * profile.outputTokens,
    totalTokensPerS: best.requestsPerS * perRequestTokens,
    batch: best.batch,
    stepMs: best.stepMs,
    tpotMs: best.tpotMs,
    ttftMs: best.ttftMs,
    limitedBy,
    kvCapacityTokens: kvTokens,
  };
}
