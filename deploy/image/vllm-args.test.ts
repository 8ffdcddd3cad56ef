import { describe, expect, it } from 'vitest';
import { PoolConfig, launchArgsFor, resolvePool } from '../config.ts';
import { parseFlags, simOptionsFromVllmArgs } from './vllm-args.ts';

describe('the stand-in reads the command line a vLLM container gets', () => {
  it('maps catalog launch args (70B, TP=4, fp8) and the simulator environment to simulator options', () => {
    const pool = resolvePool(
      PoolConfig.parse({
        name: 'big',
        model: 'llama-3.1-70b',
        gpu: 'h100',
        dtype: 'fp8',
        maxNumSeqs: 64,
        extraArgs: ['--num-gpu-blocks-override', '128'],
      }),
    );
    const args = launchArgsFor(pool, 8123, '127.0.0.1');
    const options = simOptionsFromVllmArgs(args, { SWITCHYARD_SIM_GPU: 'h100', SWITCHYARD_SIM_SPEED: '20' });
    expect(options).toMatchObject({
      model: 'llama-3.1-70b',
      gpu: 'h100',
      speed: 20,
      dtype: 'fp8',
      host: '127.0.0.1',
      port: 8123,
      servedModelName: 'llama-3.1-70b',
      tensorParallel: pool.tensorParallel,
      maxNumSeqs: 64,
      maxNumBatchedTokens: 8192,
      kvBlocks: 128,
      gpuMemoryUtilization: 0.9,
      isolation: 'in-process',
    });
  });

  it('accepts --flag=value, finds the model from the Hugging Face id, and rejects what it cannot serve', () => {
    expect(parseFlags(['--port=9000', '--enable-chunked-prefill', '--model', 'm']).get('--port')).toBe('9000');
    expect(simOptionsFromVllmArgs(['--model', 'meta-llama/Llama-3.1-8B-Instruct'], {})).toMatchObject({
      model: 'llama-3.1-8b',
      port: 8000,
      host: '0.0.0.0',
      gpu: 'h100',
    });
    expect(() => simOptionsFromVllmArgs(['--model', 'some/unknown-model'], {})).toThrow(/knows no model/);
    expect(() => simOptionsFromVllmArgs(['--model', 'llama-3.1-8b', '--port', 'x'], {})).toThrow(
      /--port must be an integer/,
    );
    expect(() => simOptionsFromVllmArgs(['--model', 'llama-3.1-8b'], { SWITCHYARD_SIM_GPU: 'tpu' })).toThrow();
  });
});
