import { describe, expect, it } from 'vitest';
import { GPUS } from './catalog/gpus.ts';
import { MODELS, getModel, kvBytesPerToken, weightBytes } from './catalog/models.ts';
import {
  KV_BLOCK_TOKENS,
  fits,
  kvCapacityBlocks,
  kvCapacityTokens,
  maxModelLen,
  smallestTensorParallel,
  vllmLaunchArgs,
} from './sizing.ts';

const model8b = MODELS['llama-3.1-8b'];
const model70b = MODELS['llama-3.1-70b'];

describe('model catalog arithmetic', () => {
  it('KV bytes per token follow 2 · layers · kvHeads · headDim · 2 bytes', () => {
    expect(kvBytesPerToken(model8b)).toBe(2 * 32 * 8 * 128 * 2); // 128 KiB
    expect(kvBytesPerToken(model70b)).toBe(2 * 80 * 8 * 128 * 2); // 320 KiB
  });

  it('weights shrink with the dtype', () => {
    expect(weightBytes(model8b, 'bf16') / 1e9).toBeCloseTo(16.06, 1);
    expect(weightBytes(model70b, 'bf16') / 1e9).toBeCloseTo(141.1, 0);
    expect(weightBytes(model70b, 'fp8')).toBeCloseTo(weightBytes(model70b, 'bf16') / 2, -3);
    expect(weightBytes(model70b, 'int4-awq')).toBeLessThan(weightBytes(model70b, 'fp8'));
  });

  it('unknown ids fail with the list of known ones', () => {
    expect(() => getModel('gpt-5')).toThrow(/known: llama-3.1-8b/);
  });
});

describe('sizing', () => {
  it('Llama 3.1 70B bf16 does not fit one A100 80GB and needs TP=4 there', () => {
    expect(fits({ model: model70b, gpu: GPUS['a100-80gb'], dtype: 'bf16', tensorParallel: 1 }).fits).toBe(false);
    expect(fits({ model: model70b, gpu: GPUS['a100-80gb'], dtype: 'bf16', tensorParallel: 2 }).fits).toBe(false);
    expect(smallestTensorParallel({ model: model70b, gpu: GPUS['a100-80gb'], dtype: 'bf16' })).toBe(4);
  });

  it('8B bf16 fits one A10G with a small KV cache', () => {
    const deployment = { model: model8b, gpu: GPUS.a10g, dtype: 'bf16' as const, tensorParallel: 1 };
    const result = fits(deployment);
    expect(result.fits).toBe(true);
    const h100Capacity = kvCapacityTokens({ ...deployment, gpu: GPUS.h100 });
    expect(result.kvCapacityTokens).toBeLessThan(h100Capacity / 10);
    expect(result.kvCapacityTokens).toBeGreaterThan(10_000);
  });

  it('capacity in blocks is capacity in tokens over 16', () => {
    const deployment = { model: model8b, gpu: GPUS['a100-80gb'], dtype: 'bf16' as const, tensorParallel: 1 };
    expect(kvCapacityBlocks(deployment)).toBe(Math.floor(kvCapacityTokens(deployment) / KV_BLOCK_TOKENS));
  });

  it('rejects tensor-parallel sizes that do not split the heads', () => {
    expect(fits({ model: model70b, gpu: GPUS.h100, dtype: 'bf16', tensorParallel: 3 }).reason).toMatch(
      /does not split/,
    );
  });

  it('max model length is capped by the KV cache and by the model, in whole blocks', () => {
    const small = { model: model8b, gpu: GPUS.a10g, dtype: 'bf16' as const, tensorParallel: 1 };
    expect(maxModelLen(small)).toBeLessThanOrEqual(kvCapacityTokens(small));
    expect(maxModelLen(small) % KV_BLOCK_TOKENS).toBe(0);
    expect(maxModelLen({ ...small, gpu: GPUS.h100 })).toBe(model8b.maxContext);
  });

  it('builds vLLM launch arguments and refuses a deployment that does not fit', () => {
    const args = vllmLaunchArgs(
      { model: model70b, gpu: GPUS['a100-80gb'], dtype: 'bf16', tensorParallel: 4 },
      { port: 8001 },
    );
    const flag = (name: string) => args[args.indexOf(name) + 1];
    expect(flag('--model')).toBe('meta-llama/Llama-3.1-70B-Instruct');
    expect(flag('--tensor-parallel-size')).toBe('4');
    expect(flag('--gpu-memory-utilization')).toBe('0.90');
    expect(flag('--port')).toBe('8001');
    expect(args).toContain('--enable-chunked-prefill');
    expect(Number(flag('--max-num-seqs'))).toBeGreaterThan(0);
    expect(() => vllmLaunchArgs({ model: model70b, gpu: GPUS['a100-80gb'], dtype: 'bf16', tensorParallel: 1 })).toThrow(
      /does not fit/,
    );
  });
});
