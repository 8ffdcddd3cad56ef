import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliIo, loadDeployConfig, registerDeployCommands } from './cli.ts';
import type { DeploymentStatus } from './manager.ts';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-deploy-cli-'));
const configFile = join(dir, 'deploy.yaml');
writeFileSync(
  configFile,
  [
    'driver: local',
    'gpus: 4',
    `stateDir: ${join(dir, 'state')}`,
    'simSpeed: 20',
    'pools:',
    '  - name: chat',
    '    model: llama-3.1-8b',
    '    gpu: a10g',
    '    replicas: 2',
    '    maxReplicas: 3',
    '    healthTimeoutMs: 20000',
    '    stopGraceMs: 2000',
  ].join('\n'),
);

async function run(...args: string[]): Promise<{ out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    untilSignal: () => Promise.resolve('SIGTERM'),
  };
  const program = new Command('switchyard').exitOverride();
  registerDeployCommands(program, io);
  await program.parseAsync(['node', 'switchyard', 'deploy', ...args]);
  return { out, err };
}

afterAll(async () => {
  await run('down', '-c', configFile);
  process.exitCode = 0;
});

describe('switchyard deploy up|status|scale|down (local driver)', () => {
  it('brings a pool up, reports it, scales it, adopts on the next command and takes it down', async () => {
    const up = await run('up', '-c', configFile, '--detach');
    expect(up.err).toEqual([]);
    expect(up.out.join('\n')).toMatch(/pool chat: llama-3.1-8b on 1× a10g, desired 2/);

    const status = await run('status', '-c', configFile, '--json');
    const parsed = JSON.parse(status.out[0]!) as DeploymentStatus;
    expect(parsed.pools[0]!.replicas.map((replica) => [replica.state, replica.adopted])).toEqual([
      ['ready', true],
      ['ready', true],
    ]);
    expect(parsed.gpus.free).toHaveLength(2);
    expect(parsed.telemetry).toMatchObject({ source: 'none', available: false });

    const scaled = await run('scale', 'chat', '3', '-c', configFile);
    expect(scaled.out.join('\n')).toMatch(/chat: 3 ready \(desired 3\)/);

    const bad = await run('scale', 'nope', '1', '-c', configFile);
    expect(bad.err.join('\n')).toMatch(/unknown pool "nope"; pools: chat/);
    expect(process.exitCode).toBe(2);
    process.exitCode = 0;

    const down = await run('down', '-c', configFile);
    expect(down.out).toEqual(['removed 3 replica(s)']);
    const after = JSON.parse((await run('status', '-c', configFile, '--json')).out[0]!) as DeploymentStatus;
    expect(after.pools[0]!.replicas).toEqual([]);
  });

  it('rejects bad configuration with the failing path named', () => {
    expect(() => loadDeployConfig({ driver: 'kubernetes' })).toThrow(/driver/);
    const badFile = join(dir, 'bad.yaml');
    writeFileSync(badFile, 'pools:\n  - name: x\n    model: llama-3.1-70b\n    gpu: a10g\n    tensorParallel: 2\n');
    expect(() => loadDeployConfig({ config: badFile })).toThrow(/pools\[0\]: llama-3.1-70b on 2× a10g: .*KV tokens/);
    writeFileSync(badFile, 'pools:\n  - name: x\n    model: gpt-9\n    gpu: a10g\n');
    expect(() => loadDeployConfig({ config: badFile })).toThrow(/^pools\[0\]\.model:/);
    expect(() => loadDeployConfig({ config: join(dir, 'missing.yaml') })).toThrow(/cannot read config/);
    expect(loadDeployConfig({ dryRun: true }).autoscaler.dryRun).toBe(true);
  });
});
