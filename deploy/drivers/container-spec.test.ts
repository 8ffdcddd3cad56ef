import { describe, expect, it } from 'vitest';
import { MODELS } from '../../models/catalog/models.ts';
import { GPUS } from '../../models/catalog/gpus.ts';
import { maxModelLen, smallestTensorParallel } from '../../models/sizing.ts';
import { DockerConfig, PoolConfig, launchArgsFor, resolvePool } from '../config.ts';
import type { ReplicaSpec } from '../contracts.ts';
import { LABELS, containerSpec, redactedSpec } from './container-spec.ts';
import { demuxDockerLogs } from './docker-logs.ts';

function specFor(poolInput: object, gpuIds: string[], port: number): ReplicaSpec {
  const pool = resolvePool(PoolConfig.parse(poolInput));
  return {
    replicaId: `${pool.name}-abcd1234`,
    pool: pool.name,
    model: pool.model,
    gpu: pool.gpu,
    dtype: pool.dtype,
    tensorParallel: pool.tensorParallel,
    gpuIds,
    host: '0.0.0.0',
    port,
    launchArgs: launchArgsFor(pool, port, '0.0.0.0'),
  };
}

const flag = (args: readonly string[], name: string): string | undefined => args[args.indexOf(name) + 1];
const docker = DockerConfig.parse({});

describe('container spec produced for the Docker Engine', () => {
  it('8B on one A10G: catalog args, one GPU by device id, host network, shm, HF cache, restart policy, labels', () => {
    const spec = specFor({ name: 'small', model: 'llama-3.1-8b', gpu: 'a10g' }, ['2'], 8001);
    const options = containerSpec(spec, docker, { HF_TOKEN: 'hf_secret_value' });
    const args = options.Cmd!;
    const deployment = { model: MODELS['llama-3.1-8b'], gpu: GPUS.a10g, dtype: 'bf16' as const, tensorParallel: 1 };
    expect(smallestTensorParallel(deployment)).toBe(1);
    expect(options.Image).toBe('vllm/vllm-openai:v0.11.0');
    expect(flag(args, '--model')).toBe('meta-llama/Llama-3.1-8B-Instruct');
    expect(flag(args, '--tensor-parallel-size')).toBe('1');
    expect(flag(args, '--max-model-len')).toBe(String(maxModelLen(deployment)));
    expect(flag(args, '--gpu-memory-utilization')).toBe('0.90');
    expect(args).toContain('--enable-chunked-prefill');
    expect(flag(args, '--max-num-seqs')).toBe('256');
    expect(flag(args, '--port')).toBe('8001');
    expect(flag(args, '--host')).toBe('0.0.0.0');
    expect(options.HostConfig).toEqual({
      NetworkMode: 'host',
      ShmSize: 16 * 1024 ** 3,
      Binds: ['/var/lib/switchyard/hf-cache:/root/.cache/huggingface'],
      RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 },
      DeviceRequests: [{ Driver: 'nvidia', DeviceIDs: ['2'], Capabilities: [['gpu']] }],
    });
    expect(options.Labels).toMatchObject({
      [LABELS.managed]: 'true',
      [LABELS.pool]: 'small',
      [LABELS.replica]: 'small-abcd1234',
      [LABELS.gpus]: '2',
      [LABELS.port]: '8001',
    });
    expect(options.Env).toContain('HF_TOKEN=hf_secret_value');
    // The token never reaches anything printable.
    expect(JSON.stringify(redactedSpec(options))).not.toContain('hf_secret_value');
    expect(redactedSpec(options).Env).toContain('HF_TOKEN=***');
  });

  it('70B on four A100 80GB: TP=4 from the catalog and exactly the four granted GPUs', () => {
    const spec = specFor({ name: 'big', model: 'llama-3.1-70b', gpu: 'a100-80gb' }, ['4', '5', '6', '7'], 8002);
    expect(spec.tensorParallel).toBe(4);
    const options = containerSpec(spec, DockerConfig.parse({ tag: 'v0.10.2', restartPolicy: 'unless-stopped' }), {});
    const args = options.Cmd!;
    expect(options.Image).toBe('vllm/vllm-openai:v0.10.2');
    expect(flag(args, '--model')).toBe('meta-llama/Llama-3.1-70B-Instruct');
    expect(flag(args, '--tensor-parallel-size')).toBe('4');
    expect(flag(args, '--max-model-len')).toBe(
      String(maxModelLen({ model: MODELS['llama-3.1-70b'], gpu: GPUS['a100-80gb'], dtype: 'bf16', tensorParallel: 4 })),
    );
    expect(options.HostConfig?.DeviceRequests).toEqual([
      { Driver: 'nvidia', DeviceIDs: ['4', '5', '6', '7'], Capabilities: [['gpu']] },
    ]);
    expect(options.HostConfig?.RestartPolicy).toEqual({ Name: 'unless-stopped' });
    expect(options.Env?.some((entry) => entry.startsWith('HF_TOKEN='))).toBe(false);
  });

  it('omits DeviceRequests where GPUs are not requested (the stand-in on a GPU-less engine)', () => {
    const spec = specFor({ name: 'small', model: 'llama-3.1-8b', gpu: 'a10g' }, ['0'], 8003);
    expect(
      containerSpec(spec, DockerConfig.parse({ requestGpus: false }), {}).HostConfig?.DeviceRequests,
    ).toBeUndefined();
  });

  it('rejects deployments the catalog says do not fit', () => {
    expect(() =>
      resolvePool(PoolConfig.parse({ name: 'x', model: 'llama-3.1-70b', gpu: 'a10g', tensorParallel: 1 })),
    ).toThrow(/does not fit|KV tokens/);
  });

  it('demultiplexes container log frames', () => {
    const frame = (stream: number, text: string): Buffer => {
      const payload = Buffer.from(text);
      const header = Buffer.alloc(8);
      header[0] = stream;
      header.writeUInt32BE(payload.length, 4);
      return Buffer.concat([header, payload]);
    };
    const buffer = Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err 1\n'), frame(1, 'out 2\n')]);
    expect(demuxDockerLogs(buffer)).toEqual({ stdout: 'out 1\nout 2\n', stderr: 'err 1\n' });
    expect(demuxDockerLogs(Buffer.from('plain tty output\n'))).toEqual({ stdout: 'plain tty output\n', stderr: '' });
  });
});
