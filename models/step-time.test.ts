import { describe, expect, it } from 'vitest';
import { calibrationPoints, relativeErrors } from './calibration.ts';
import { GPUS } from './catalog/gpus.ts';
import { MODELS } from './catalog/models.ts';
import { H100_CALIBRATION, createStepTimeModel } from './step-time.ts';

describe('step-time model fidelity against the measured H100 fixture', () => {
  const rows = relativeErrors(calibrationPoints(), H100_CALIBRATION);

  it('covers every required point of the fixture (8B decode batch ≥ 4, 8B prefill ≥ 512)', () => {
    expect(rows.filter((row) => row.required && row.kind === 'decode')).toHaveLength(9);
    expect(rows.filter((row) => row.required && row.kind === 'prefill')).toHaveLength(3);
  });

  for (const row of rows.filter((candidate) => candidate.required)) {
    it(`${row.kind} ${row.model} ${row.shape} is within 10% of ${row.measuredMs} ms`, () => {
      expect(Math.abs(row.error)).toBeLessThan(0.1);
    });
  }
});

describe('step-time model shape', () => {
  const model8b = MODELS['llama-3.1-8b'];
  const h100 = createStepTimeModel({ model: model8b, gpu: GPUS.h100 });

  it('one 8B stream on an H100 takes ~7-9 ms per token', () => {
    const ms = h100.decodeStepMs(1, 512);
    expect(ms).toBeGreaterThan(6.5);
    expect(ms).toBeLessThan(9);
  });

  it('decode grows with batch and context, sub-linearly in batch (memory bound)', () => {
    expect(h100.decodeStepMs(64, 1024)).toBeGreaterThan(h100.decodeStepMs(8, 1024));
    expect(h100.decodeStepMs(32, 4096)).toBeGreaterThan(h100.decodeStepMs(32, 1024));
    expect(h100.decodeStepMs(64, 1024) / h100.decodeStepMs(1, 1024)).toBeLessThan(3);
  });

  it('prefill is compute bound: ~linear in tokens at large sizes, cheaper with cached prefix', () => {
    const ratio = h100.prefillMs(8192) / h100.prefillMs(4096);
    expect(ratio).toBeGreaterThan(1.8);
    expect(ratio).toBeLessThan(2.6);
    expect(h100.prefillMs(512, 4096)).toBeLessThan(h100.prefillMs(4608));
  });

  it('scales to slower GPUs by bandwidth (decode) and compute (prefill)', () => {
    const a10g = createStepTimeModel({ model: model8b, gpu: GPUS.a10g });
    const a100 = createStepTimeModel({ model: model8b, gpu: GPUS['a100-80gb'] });
    const decodeRatio = a10g.decodeStepMs(1, 1024) / h100.decodeStepMs(1, 1024);
    expect(decodeRatio).toBeGreaterThan(3.5); // 3350 / 600 GB/s, minus the shared launch overhead
    expect(decodeRatio).toBeLessThan(5.6);
    const prefillRatio = a100.prefillMs(8192) / h100.prefillMs(8192);
    expect(prefillRatio).toBeGreaterThan(2.5); // 989 / 312 TFLOP/s
    expect(prefillRatio).toBeLessThan(3.3);
  });

  it('tensor parallelism divides the work and adds communication', () => {
    const model70b = MODELS['llama-3.1-70b'];
    const tp4 = createStepTimeModel({ model: model70b, gpu: GPUS['a100-80gb'], tensorParallel: 4 });
    const tp8 = createStepTimeModel({ model: model70b, gpu: GPUS['a100-80gb'], tensorParallel: 8 });
    expect(tp8.decodeStepMs(16, 1024)).toBeLessThan(tp4.decodeStepMs(16, 1024));
    expect(tp8.decodeStepMs(16, 1024)).toBeGreaterThan(tp4.decodeStepMs(16, 1024) / 2);
  });

  it('an empty step takes no time and a mixed step costs more than either part', () => {
    expect(h100.stepMs({ decodeSequences: 0, decodeContextTokens: 0 })).toBe(0);
    const mixed = h100.stepMs({
      decodeSequences: 32,
      decodeContextTokens: 32 * 1024,
      prefills: [{ tokens: 2048, cachedTokens: 0 }],
    });
    expect(mixed).toBeGreaterThan(h100.decodeStepMs(32, 1024));
    expect(mixed).toBeGreaterThan(h100.prefillMs(2048));
  });
});
