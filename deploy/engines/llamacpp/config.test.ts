// A llama-server deploy pool from config to command line and container body, and the router-config cross-checks.
import { describe, expect, it } from 'vitest';
import {
  DockerConfig,
  PoolConfig,
  launchArgsFor,
  parseDeployConfig,
  resolvePool,
  type ResolvedLlamaCppPool,
} from '../../config.ts';
import { containerSpec } from '../../drivers/container-spec.ts';
import { validateConfig } from '../../../router/config/load.ts';
import { replicaEngine } from './prepare.ts';

function prepared(input: Record<string, unknown>): ResolvedLlamaCppPool {
  const pool = resolvePool(PoolConfig.parse({ name: 'cpu', ...input })) as ResolvedLlamaCppPool;
  pool.runtime = {
    binary: '/cache/bin/llama-server',
    env: { LD_LIBRARY_PATH: '/cache/lib' },
    modelFile: '/models/llama-3.1-8b-q4_k_m.gguf',
  };
  return pool;
}

describe('llama-server deploy pools', () => {
  it('resolve without GPUs and launch llama-server with slots, context, batching, metrics and a port per replica', () => {
    const pool = prepared({
      llamacpp: { model: '/models/llama-3.1-8b-q4_k_m.gguf', parallel: 8, ctxSize: 16_384, threads: 4 },
    });
    expect(pool).toMatchObject({ engine: 'llamacpp', model: 'llama-3.1-8b-q4_k_m', gpu: 'cpu', tensorParallel: 0 });
    const args = launchArgsFor(pool, 8123, '127.0.0.1');
    expect(args.join(' ')).toBe(
      '--model /models/llama-3.1-8b-q4_k_m.gguf --alias llama-3.1-8b-q4_k_m --host 127.0.0.1 --port 8123 --parallel 8 ' +
        '--ctx-size 16384 --threads 4 --n-gpu-layers 0 --cont-batching --metrics --slots',
    );
  });

  it('build the official server image’s container: llama-server arguments, the GGUF directory mounted read-only, host network', () => {
    const pool = prepared({
      llamacpp: { model: '/models/llama-3.1-8b-q4_k_m.gguf', alias: 'llama-8b', extraArgs: ['--cache-type-k', 'q8_0'] },
    });
    const spec = containerSpec(
      {
        replicaId: 'cpu-abc',
        pool: 'cpu',
        model: pool.model,
        gpu: 'cpu',
        dtype: 'bf16',
        tensorParallel: 0,
        gpuIds: [],
        host: '0.0.0.0',
        port: 8200,
        launchArgs: launchArgsFor(pool, 8200, '0.0.0.0'),
        engine: replicaEngine(pool, 8200, '0.0.0.0'),
      },
      DockerConfig.parse({}),
      {},
    );
    expect(spec.Image).toBe('ghcr.io/ggml-org/llama.cpp:server');
    expect(spec.Cmd?.slice(0, 4)).toEqual(['--model', '/models/llama-3.1-8b-q4_k_m.gguf', '--alias', 'llama-8b']);
    expect(spec.Cmd?.slice(-2)).toEqual(['--cache-type-k', 'q8_0']);
    expect(spec.HostConfig?.Binds).toEqual(['/models:/models:ro']);
    expect(spec.HostConfig?.NetworkMode).toBe('host');
    expect(spec.HostConfig?.DeviceRequests).toBeUndefined();
    expect(spec.Labels?.['io.switchyard.pool']).toBe('cpu');
    expect(spec.Env?.some((entry) => entry.startsWith('HF_TOKEN'))).toBe(false);
  });

  it('needs a catalog model and GPU for a vLLM pool', () => {
    expect(() => parseDeployConfig({ pools: [{ name: 'gpu', gpu: 'h100' }] })).toThrow(
      /pools\[0\]\.model: a vLLM pool needs a catalog model/,
    );
    expect(() => parseDeployConfig({ pools: [{ name: 'cpu', llamacpp: {} }] })).not.toThrow();
  });

  it('pairs a llama.cpp deploy pool with a llamacpp router pool of the same name', () => {
    const base = {
      models: [{ name: 'tiny-llama', route: ['cpu'] }],
      deploy: { gpus: 0, pools: [{ name: 'cpu', llamacpp: {} }] },
    };
    expect(() => validateConfig({ ...base, pools: [{ name: 'cpu', kind: 'llamacpp' }] }, 't', {})).not.toThrow();
    expect(() =>
      validateConfig({ ...base, pools: [{ name: 'cpu', kind: 'vllm', model: 'llama-3.1-8b', gpu: 'a10g' }] }, 't', {}),
    ).toThrow(/needs a llamacpp pool of the same name/);
  });
});
