// How long one engine step takes on a GPU: the roofline arithmetic of a transformer forward pass, calibrated against
// real H100 measurements (fixtures/h100-llama31-shapes.json; see models/README.md for the fit and its errors).
//
//   M = (weights/tp + KV bytes read/tp) / (bandwidth · η_mem)          memory traffic of the step
//   C = (tokens · flopsPerToken + attention FLOPs) / tp / (flops · η_c)  matmul work of the step
//   gpu = max(M, C) + β · min(M, C)                                      the smaller part only partly overlaps
//   step = gpu + launch (CUDA graphs) or √(gpu² + launch²) (eager: CPU launches hide under GPU work), + comm
//
// launch = layers · τ (τ per layer: small with CUDA graphs, large eager); comm = TP all-reduces (2 per layer).
import { type Dtype, type ModelSpec, flopsPerToken, kvBytesPerToken, weightBytes } from './catalog/models.ts';
import type { GpuSpec } from './catalog/gpus.ts';

export interface StepTimeCalibration {
  /** Achieved fraction of the datasheet memory bandwidth. */
  memoryEfficiency: number;
  /** Achieved fraction of the datasheet dense bf16 FLOP/s in large matmuls. */
  computeEfficiency: number;
  /** Share of the smaller of memory/compute time that does not overlap with the larger. */
  overlapPenalty: number;
  /** Launch overhead per layer per step, ms, when steps replay CUDA graphs (how vLLM runs decode). */
  graphLaunchMsPerLayer: number;
  /** Launch overhead per layer per step, ms, in eager PyTorch (how the prefill fixture was measured). */
  eagerLaunchMsPerLayer: number;
  /** Fixed latency of one all-reduce, ms. */
  allReduceLatencyMs: number;
}

/** Fitted by `npx tsx models/calibrate.ts` on the 8B decode (graph) and prefill (eager) points. */
export const H100_CALIBRATION: StepTimeCalibration = {
  memoryEfficiency: 0.931,
  computeEfficiency: 0.571,
  overlapPenalty: 0.379,
  graphLaunchMsPerLayer: 0.0854,
  eagerLaunchMsPerLayer: 0.571,
  allReduceLatencyMs: 0.01,
};

export type LaunchMode = 'graph' | 'eager';

/** One engine step: sequences decoding one token each, plus prefill chunks (chunked prefill mixes them). */
export interface StepShape {
  /** Sequences in the decode phase (one new token each). */
  decodeSequences: number;
  /** Sum over decoding sequences of their cached context, tokens. */
  decodeContextTokens: number;
  /** Prefill chunks scheduled in this step. */
  prefills?: readonly { tokens: number; cachedTokens: number }[];
}

export interface StepTimeModel {
  /** ms for one step of any shape. */
  stepMs(shape: StepShape): number;
  /** ms for one decode step of `batch` sequences at average context `context`. */
  decodeStepMs(batch: number, context: number): number;
  /** ms to prefill `tokens` prompt tokens (after `cachedTokens` already in the cache), alone in a step. */
  prefillMs(tokens: number, cachedTokens?: number): number;
}

export interface StepTimeOptions {
  model: ModelSpec;
  gpu: GpuSpec;
  tensorParallel?: number;
  dtype?: Dtype;
  launch?: LaunchMode;
  calibration?: StepTimeCalibration;
  /** Layers actually run (the 70B fixture timed 8 of 80); defaults to the model's own. */
  layers?: number;
}

export function createStepTimeModel(options: StepTimeOptions): StepTimeModel {
  const { model, gpu } = options;
  const tp = options.tensorParallel ?? 1;
  const calibration = options.calibration ?? H100_CALIBRATION;
  const layers = options.layers ?? model.layers;
  const layerShare = layers / model.layers;
  const dtype = options.dtype ?? 'bf16';
  // The 70B fixture slice has no LM head or embeddings; a full model reads both.
  const weights =
    layers === model.layers
      ? weightBytes(model, dtype)
      : (weightBytes(model, dtype) - model.embeddingParameters * 2) * layerShare;
  const matmulFlopsPerToken =
    layers === model.layers ? flopsPerToken(model) : 2 * (model.parameters - model.embeddingParameters) * layerShare;
  const kvPerToken = kvBytesPerToken(model) * layerShare;
  const bandwidth = gpu.memoryBandwidth * calibration.memoryEfficiency;
  // fp8 and int4 weights still run bf16 matmuls in vLLM's common kernels on these GPUs; only traffic shrinks.
  const flops = gpu.bf16Flops * calibration.computeEfficiency;
  const launchMode = options.launch ?? 'graph';
  const launchPerLayer = launchMode === 'graph' ? calibration.graphLaunchMsPerLayer : calibration.eagerLaunchMsPerLayer;
  const launchMs = layers * launchPerLayer;
  const attentionWidth = model.attentionHeads * model.headDim;

  function stepMs(shape: StepShape): number {
    const prefills = shape.prefills ?? [];
    let tokens = shape.decodeSequences;
    let kvReadTokens = shape.decodeContextTokens;
    // QK^T and AV: 2 matmuls × 2 FLOPs per multiply-add, per attended position.
    let attentionFlops = 4 * layers * attentionWidth * shape.decodeContextTokens;
    for (const prefill of prefills) {
      tokens += prefill.tokens;
      kvReadTokens += prefill.cachedTokens;
      attentionFlops += 4 * layers * attentionWidth * prefill.tokens * (prefill.cachedTokens + prefill.tokens / 2);
    }
    if (tokens === 0) return 0;
    const memoryMs = ((weights + kvReadTokens * kvPerToken) / tp / bandwidth) * 1000;
    const computeMs = ((tokens * matmulFlopsPerToken + attentionFlops) / tp / flops) * 1000;
    const gpuMs = Math.max(memoryMs, computeMs) + calibration.overlapPenalty * Math.min(memoryMs, computeMs);
    let commMs = 0;
    if (tp > 1) {
      const bytes = tokens * model.hiddenSize * 2;
      const ringBytes = (2 * (tp - 1) * bytes) / tp;
      commMs = 2 * layers * (calibration.allReduceLatencyMs + (ringBytes / gpu.interconnectBandwidth) * 1000);
    }
    // Graph replays leave per-kernel gaps on the GPU (they add up); eager launches run on the CPU while earlier
    // kernels execute, so only the larger of the two shows.
    const withLaunch = launchMode === 'graph' ? gpuMs + launchMs : Math.hypot(gpuMs, launchMs);
    return withLaunch + commMs;
  }

  return {
    stepMs,
    decodeStepMs: (batch, context) => stepMs({ decodeSequences: batch, decodeContextTokens: batch * context }),
    prefillMs: (tokens, cachedTokens = 0) =>
      stepMs({ decodeSequences: 0, decodeContextTokens: 0, prefills: [{ tokens, cachedTokens }] }),
  };
}
