// LoRA pools in deploy/: the catalog's `vllm serve` line carries vLLM's LoRA flags, the docker driver's container gets
// the runtime-loading switch and the adapter folder, and the stand-in reads the same command line back.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfigText } from '../router/config/load.ts';
import { DockerConfig, PoolConfig, launchArgsFor, replicaExtrasFor, resolvePool } from './config.ts';
import type { ReplicaSpec } from './contracts.ts';
import { containerSpec } from './drivers/container-spec.ts';
import { simOptionsFromVllmArgs } from './image/vllm-args.ts';

const pool = resolvePool(
  PoolConfig.parse({
    name: 'tuned',
    model: 'llama-3.1-8b',
    gpu: 'a100-80gb',
    lora: {
      maxLoras: 4,
      maxLoraRank: 32,
      maxCpuLoras: 16,
      modules: [
        { name: 'sql-lora', path: '/adapters/sql-lora' },
        { name: 'support-lora', path: '/adapters/support-lora' },
      ],
      hostDir: '/srv/adapters',
    },
  }),
);

describe('LoRA pools', () => {
  it('put vLLM’s LoRA flags on the launch line, with the modules before the next flag', () => {
    const args = launchArgsFor(pool, 8001, '0.0.0.0');
    expect(args).toContain('--enable-lora');
    expect(args[args.indexOf('--max-loras') + 1]).toBe('4');
    expect(args[args.indexOf('--max-lora-rank') + 1]).toBe('32');
    expect(args[args.indexOf('--max-cpu-loras') + 1]).toBe('16');
    const modules = args.indexOf('--lora-modules');
    expect(args.slice(modules + 1, modules + 3)).toEqual([
      'sql-lora=/adapters/sql-lora',
      'support-lora=/adapters/support-lora',
    ]);
    expect(args[modules + 3]?.startsWith('--')).toBe(true);
    expect(
      launchArgsFor(
        resolvePool(PoolConfig.parse({ name: 'plain', model: 'llama-3.1-8b', gpu: 'a100-80gb' })),
        8001,
        '0.0.0.0',
      ),
    ).not.toContain('--enable-lora');
  });

  it('give the container VLLM_ALLOW_RUNTIME_LORA_UPDATING and the adapter folder read-only', () => {
    const spec: ReplicaSpec = {
      replicaId: 'tuned-1',
      pool: pool.name,
      model: pool.model,
      gpu: pool.gpu,
      dtype: pool.dtype,
      tensorParallel: pool.tensorParallel,
      gpuIds: ['0'],
      host: '0.0.0.0',
      port: 8001,
      launchArgs: launchArgsFor(pool, 8001, '0.0.0.0'),
      ...replicaExtrasFor(pool),
    };
    const options = containerSpec(spec, DockerConfig.parse({}), {});
    expect(options.Env).toContain('VLLM_ALLOW_RUNTIME_LORA_UPDATING=True');
    expect(options.HostConfig?.Binds).toContain('/srv/adapters:/adapters:ro');
    expect(options.Cmd).toContain('--enable-lora');
    const withoutLoading = resolvePool(
      PoolConfig.parse({ name: 'fixed', model: 'llama-3.1-8b', gpu: 'a10g', lora: { runtimeUpdating: false } }),
    );
    expect(replicaExtrasFor(withoutLoading)).toEqual({ env: {}, mounts: [] });
  });

  it('are read back by the stand-in as the simulator’s LoRA options', () => {
    const args = launchArgsFor(pool, 8001, '0.0.0.0');
    const options = simOptionsFromVllmArgs(args, {
      SWITCHYARD_SIM_GPU: 'a100-80gb',
      VLLM_ALLOW_RUNTIME_LORA_UPDATING: 'True',
    });
    expect(options.lora).toEqual({
      modules: [
        { name: 'sql-lora', path: '/adapters/sql-lora' },
        { name: 'support-lora', path: '/adapters/support-lora' },
      ],
      runtimeUpdating: true,
      maxLoras: 4,
      maxLoraRank: 32,
      maxCpuLoras: 16,
    });
    expect(options.port).toBe(8001);
  });
});

describe('the compose LoRA example (deploy/compose/lora.override.yml)', () => {
  const root = fileURLToPath(new URL('../', import.meta.url));

  it('renders with docker-compose over docker-compose.gpu.yml, with the catalog’s LoRA command line', () => {
    const rendered = execFileSync(
      'docker-compose',
      ['-f', 'docker-compose.gpu.yml', '-f', 'deploy/compose/lora.override.yml', 'config'],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    const services = (
      parseYaml(rendered) as {
        services: Record<string, { command: string[]; environment: Record<string, string>; volumes: string[] }>;
      }
    ).services;
    const small = services['vllm-llama-8b']!;
    const lora = {
      maxLoras: 4,
      modules: [
        { name: 'sql-lora', path: '/adapters/sql-lora' },
        { name: 'support-lora', path: '/adapters/support-lora' },
      ],
    };
    expect(small.command).toEqual(
      launchArgsFor(
        resolvePool(PoolConfig.parse({ name: 'x', model: 'llama-3.1-8b', gpu: 'a100-80gb', lora })),
        8000,
        '0.0.0.0',
      ),
    );
    expect(small.environment['VLLM_ALLOW_RUNTIME_LORA_UPDATING']).toBe('True');
    expect(small.volumes.some((volume) => volume.endsWith(':/adapters:ro'))).toBe(true);
    expect(
      services['router']!.volumes.some((volume) =>
        volume.includes('switchyard-lora.yaml:/etc/switchyard/switchyard.yaml'),
      ),
    ).toBe(true);
  });

  it('mounts a router config that is valid and routes the adapters to the 8B pool with lora-affinity', () => {
    const config = parseConfigText(
      readFileSync(join(root, 'deploy/compose/switchyard-lora.yaml'), 'utf8'),
      'switchyard-lora.yaml',
      {},
    );
    expect(config.lora?.adapters.map((adapter) => [adapter.name, adapter.base])).toEqual([
      ['sql-lora', 'llama-3.1-8b'],
      ['support-lora', 'llama-3.1-8b'],
    ]);
    expect(config.scheduling.scorers.map((scorer) => scorer.type)).toContain('lora-affinity');
  });
});
