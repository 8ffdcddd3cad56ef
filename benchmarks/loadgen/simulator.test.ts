// The load generator against a real simulator replica (models/sim): the same HTTP boundary as vLLM, with step times
// from the calibrated step-time model, so the measured TPOT can be checked against the model's prediction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GPUS } from '../../models/catalog/gpus.ts';
import { MODELS } from '../../models/catalog/models.ts';
import { type SimReplica, startSimReplica } from '../../models/sim/index.ts';
import { createStepTimeModel } from '../../models/step-time.ts';
import { BenchConfig } from './config.ts';
import { runBenchmark } from './runner.ts';

// Simulated time runs SPEED× faster than real time; measured times × SPEED are simulated GPU times.
const SPEED = 4;

describe('bench against a simulator replica', () => {
  let replica: SimReplica;
  beforeAll(async () => {
    replica = await startSimReplica({ model: 'mistral-7b', gpu: 'a10g', speed: SPEED });
  });
  afterAll(() => replica?.close());

  it('measures the TPOT the step-time model predicts, exact output lengths, and batching gains', async () => {
    const config = (concurrency: number) =>
      BenchConfig.parse({
        baseUrl: `${replica.url}/v1`,
        model: replica.servedModelName,
        mode: { kind: 'closed', concurrency },
        workload: { kind: 'synthetic', input: { kind: 'fixed', value: 256 }, output: { kind: 'fixed', value: 40 } },
        requests: concurrency === 1 ? 4 : 16,
        warmupRequests: 1,
        seed: 3,
      });
    const single = (await runBenchmark(config(1))).runs[0];
    const batched = (await runBenchmark(config(8))).runs[0];
    expect(single?.summary.completed).toBe(4);
    expect(batched?.summary.completed).toBe(16);
    // ignore_eos + max_tokens: exactly 40 tokens each, counted by the server's usage block.
    expect(single?.records.every((record) => record.outputTokens === 40 && record.outputTokenSource === 'usage')).toBe(
      true,
    );

    const stepModel = createStepTimeModel({ model: MODELS['mistral-7b'], gpu: GPUS.a10g });
    const predicted = stepModel.decodeStepMs(1, 256 + 20);
    const measured = (single?.summary.tpotMs.median ?? 0) * SPEED;
    expect(measured / predicted).toBeGreaterThan(0.75);
    expect(measured / predicted).toBeLessThan(1.6);
    // Eight sequences share each decode step: far more throughput for a modestly slower step.
    expect((batched?.summary.outputThroughput ?? 0) / (single?.summary.outputThroughput ?? 1)).toBeGreaterThan(3);
  });
});
