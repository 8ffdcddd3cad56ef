// `switchyard deploy` with the docker driver, end to end on a real Docker Engine: the operator's commands create,
// report, serve through and remove real containers (the FROM-scratch stand-in image; nothing is pulled).
// No dockerd → this FAILS with the command to start it; it is never skipped.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import Docker from 'dockerode';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIo, registerDeployCommands } from './cli.ts';
import { LABELS, deploymentLabelFilter } from './drivers/container-spec.ts';
import { ensureStandinImage } from './image/build.ts';
import type { DeploymentStatus } from './manager.ts';

const SOCKET = process.env['DOCKER_SOCKET'] ?? '/var/run/docker.sock';
const POOL = 'clidocker';
const DEPLOYMENT = 'test-cli-docker';
const docker = new Docker({ socketPath: SOCKET });
const dir = mkdtempSync(join(tmpdir(), 'switchyard-deploy-cli-docker-'));
const configFile = join(dir, 'deploy.yaml');

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

async function poolContainers(): Promise<Docker.ContainerInfo[]> {
  const containers = await docker.listContainers({ all: true, filters: { label: deploymentLabelFilter(DEPLOYMENT) } });
  return containers.filter((container) => container.Labels[LABELS.pool] === POOL);
}

beforeAll(async () => {
  try {
    await docker.ping();
  } catch (error) {
    throw new Error(
      `This test needs a running Docker Engine at ${SOCKET} (${(error as Error).message}). Start it with ` +
        '`dockerd --host unix:///var/run/docker.sock --bridge=none --iptables=false --ip6tables=false &` (CI: .ci/run).',
    );
  }
  const built = await ensureStandinImage(docker);
  writeFileSync(
    configFile,
    [
      'driver: docker',
      `deploymentId: ${DEPLOYMENT}`,
      'gpus: 2',
      `stateDir: ${join(dir, 'state')}`,
      'docker:',
      `  socketPath: ${SOCKET}`,
      `  image: ${built.repository}`,
      `  tag: "${built.tag}"`,
      '  requestGpus: false',
      '  restartPolicy: "no"',
      `  hfCacheDir: ${join(dir, 'hf-cache')}`,
      '  shmSizeBytes: 67108864',
      '  env: { SWITCHYARD_SIM_SPEED: "20" }',
      'pools:',
      `  - name: ${POOL}`,
      '    model: llama-3.1-8b',
      '    gpu: a10g',
      '    replicas: 1',
      '    maxReplicas: 2',
      '    healthTimeoutMs: 30000',
      '    stopGraceMs: 2000',
    ].join('\n'),
  );
}, 180_000);

afterAll(async () => {
  await run('down', '-c', configFile).catch(() => undefined);
  for (const container of await poolContainers().catch(() => [])) {
    await docker
      .getContainer(container.Id)
      .remove({ force: true })
      .catch(() => undefined);
  }
  process.exitCode = 0;
}, 60_000);

describe('switchyard deploy up|status|scale|down (docker driver, real Docker Engine)', () => {
  it('creates labelled containers that serve the OpenAI API, scales them and removes them', async () => {
    const up = await run('up', '-c', configFile, '--detach');
    expect(up.err).toEqual([]);
    expect(await poolContainers()).toHaveLength(1);

    const status = JSON.parse((await run('status', '-c', configFile, '--json')).out[0]!) as DeploymentStatus;
    expect(status.driver).toBe('docker');
    const replica = status.pools[0]!.replicas[0]!;
    expect(replica.state).toBe('ready');
    expect(replica.adopted).toBe(true); // the second command found the container instead of starting another

    const client = new OpenAI({ baseURL: `${replica.url}/v1`, apiKey: 'none' });
    const answer = await client.chat.completions.create({
      model: 'llama-3.1-8b',
      messages: [{ role: 'user', content: 'hello from the deploy test' }],
      max_tokens: 4,
    });
    expect(answer.usage?.completion_tokens).toBe(4);

    const scaled = await run('scale', POOL, '2', '-c', configFile);
    expect(scaled.out.join('\n')).toMatch(new RegExp(`${POOL}: 2 ready \\(desired 2\\)`));
    expect(await poolContainers()).toHaveLength(2);

    const down = await run('down', '-c', configFile);
    expect(down.out).toEqual(['removed 2 replica(s)']);
    expect(await poolContainers()).toHaveLength(0);
  }, 120_000);
});
