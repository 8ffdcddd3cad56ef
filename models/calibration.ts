// The calibration points of the H100 fixture and a small derivative-free fit over StepTimeCalibration.
import fixture from './fixtures/h100-llama31-shapes.json' with { type: 'json' };
import { MODELS } from './catalog/models.ts';
import { GPUS } from './catalog/gpus.ts';
import { type LaunchMode, type StepTimeCalibration, createStepTimeModel } from './step-time.ts';

export interface CalibrationPoint {
  kind: 'decode' | 'prefill';
  model: string;
  shape: string;
  measuredMs: number;
  /** Inside the fidelity contract: 8B decode with batch ≥ 4, 8B prefill ≥ 512 tokens. */
  required: boolean;
  predict(calibration: StepTimeCalibration): number;
}

function modelFor(name: string, calibration: StepTimeCalibration, launch: LaunchMode) {
  // The 70B fixture runs 8 of its 80 layers with no LM head.
  const layers = name === 'llama-3.1-70b-8of80' ? 8 : undefined;
  const model = name === 'llama-3.1-8b' ? MODELS['llama-3.1-8b'] : MODELS['llama-3.1-70b'];
  return createStepTimeModel({ model, gpu: GPUS.h100, calibration, launch, ...(layers ? { layers } : {}) });
}

export function calibrationPoints(): CalibrationPoint[] {
  const decode = fixture.decode.map((point) => ({
    kind: 'decode' as const,
    model: point.model,
    shape: `b=${point.batch} ctx=${point.context}`,
    measuredMs: point.step_ms_graph,
    required: point.model === 'llama-3.1-8b' && point.batch >= 4,
    predict: (calibration: StepTimeCalibration) =>
      modelFor(point.model, calibration, 'graph').decodeStepMs(point.batch, point.context),
  }));
  const prefill = fixture.prefill.map((point) => ({
    kind: 'prefill' as const,
    model: point.model,
    shape: `t=${point.prompt_tokens}`,
    measuredMs: point.prefill_ms,
    required: point.model === 'llama-3.1-8b' && point.prompt_tokens >= 512,
    predict: (calibration: StepTimeCalibration) =>
      modelFor(point.model, calibration, 'eager').prefillMs(point.prompt_tokens),
  }));
  return [...decode, ...prefill];
}

export interface ErrorRow {
  kind: string;
  model: string;
  shape: string;
  measuredMs: number;
  modelMs: number;
  error: number;
  required: boolean;
}

export function relativeErrors(points: CalibrationPoint[], calibration: StepTimeCalibration): ErrorRow[] {
  return points.map((point) => {
    const modelMs = point.predict(calibration);
    return { ...point, modelMs, error: modelMs / point.measuredMs - 1 };
  });
}

type Key = Exclude<keyof StepTimeCalibration, 'allReduceLatencyMs'>;
const KEYS: Key[] = [
  'memoryEfficiency',
  'computeEfficiency',
  'overlapPenalty',
  'graphLaunchMsPerLayer',
  'eagerLaunchMsPerLayer',
];

/** Loss: worst relative error over the required points, plus a small weight on the mean over all points. */
function loss(points: CalibrationPoint[], calibration: StepTimeCalibration): number {
  const rows = relativeErrors(points, calibration);
  const worstRequired = Math.max(...rows.filter((row) => row.required).map((row) => Math.abs(row.error)));
  const meanAll = rows.reduce((sum, row) => sum + Math.abs(row.error), 0) / rows.length;
  return worstRequired + 0.5 * meanAll;
}

/** Coordinate descent with shrinking multiplicative steps; deterministic, a few thousand evaluations. */
export function fitCalibration(
  points: CalibrationPoint[],
  start: StepTimeCalibration = {
    memoryEfficiency: 0.9,
    computeEfficiency: 0.6,
    overlapPenalty: 0.5,
    graphLaunchMsPerLayer: 0.05,
    eagerLaunchMsPerLayer: 0.5,
    allReduceLatencyMs: 0.01,
  },
): StepTimeCalibration {
  let best = { ...start };
  let bestLoss = loss(points, best);
  for (let step = 0.2; step > 0.001; step /= 2) {
    let improved = true;
    while (improved) {
      improved = false;
      for (const key of KEYS) {
        for (const factor of [1 + step, 1 / (1 + step)]) {
          const candidate = { ...best, [key]: best[key] * factor };
          if (candidate.memoryEfficiency > 1 || candidate.computeEfficiency > 1) continue;
          const candidateLoss = loss(points, candidate);
          if (candidateLoss < bestLoss) {
            best = candidate;
            bestLoss = candidateLoss;
            improved = true;
          }
        }
      }
    }
  }
  return best;
}
