// `switchyard sim` option mapping and fleets on consecutive ports.
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerSimCommand, replicaOptionsFromCli } from './cli.ts';
import { startSimFleet } from './index.ts';

const defaults = {
  model: 'llama-3.1-8b',
  gpu: 'a10g',
  replicas: '2',
  port: '8001',
  host: '127.0.0.1',
  dtype: 'bf16',
  speed: '1',
  profile: 'vllm',
  mode: 'generate',
};

describe('switchyard sim', () => {
  it('maps flags to replica options on consecutive ports', () => {
    const first = replicaOptionsFromCli(
      { ...defaults, tp: '2', legacyMetrics: true, fault: 'rate=0.1;error=503', kvBlocks: '500' },
      0,
    );
    const second = replicaOptionsFromCli({ ...defaults }, 1);
    expect(first).toMatchObject({
      model: 'llama-3.1-8b',
      gpu: 'a10g',
      port: 8001,
      tensorParallel: 2,
      metricsGeneration: 'legacy',
      kvBlocks: 500,
      faults: { errorRate: 0.1, errorStatuses: [503] },
    });
    expect(second.port).toBe(8002);
    expect(second.metricsGeneration).toBe('current');
    expect(replicaOptionsFromCli({ ...defaults, script: 'fixed answer' }, 0)).toMatchObject({
      responseMode: 'script',
      scriptedText: 'fixed answer',
    });
    expect(() => replicaOptionsFromCli({ ...defaults, speed: 'fast' }, 0)).toThrow();
  });

  it('registers the command with its flags', () => {
    const program = new Command();
    registerSimCommand(program);
    const sim = program.commands.find((command) => command.name() === 'sim');
    const flags = sim?.options.map((option) => option.long) ?? [];
    for (const flag of [
      '--model',
      '--gpu',
      '--replicas',
      '--port',
      '--tp',
      '--dtype',
      '--speed',
      '--legacy-metrics',
      '--fault',
      '--profile',
    ]) {
      expect(flags).toContain(flag);
    }
  });

  it('a fleet serves on distinct ports and closes cleanly', async () => {
    const fleet = await startSimFleet([
      { model: 'llama-3.1-8b', gpu: 'a10g', speed: 100 },
      { model: 'mistral-7b', gpu: 'l4', speed: 100, dtype: 'fp8' },
    ]);
    try {
      expect(new Set(fleet.replicas.map((replica) => replica.port)).size).toBe(2);
      const names = await Promise.all(
        fleet.replicas.map(
          async (replica) =>
            ((await (await fetch(`${replica.url}/v1/models`)).json()) as { data: { id: string }[] }).data[0]?.id,
        ),
      );
      expect(names).toEqual(['llama-3.1-8b', 'mistral-7b']);
    } finally {
      await fleet.close();
    }
    await expect(fetch(`${fleet.replicas[0]?.url ?? ''}/health`)).rejects.toThrow();
  });

  it('a model that does not fit fails to start with a clear error', async () => {
    await expect(startSimFleet([{ model: 'llama-3.1-70b', gpu: 'a10g', tensorParallel: 1 }])).rejects.toThrow(
      /does not fit/,
    );
  });
});
