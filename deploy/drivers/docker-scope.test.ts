// Two deployments on one real Docker Engine, same pool name, same replica ids in spirit: each lists, adopts, hears
// about and removes only its own containers. Deployments are built the way `switchyard deploy` builds them
// (createDeployment from a DeployConfig), their ids derived from their state directories.
// No dockerd → this FAILS with the command to start it; it is never skipped.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeployConfig, parseDeployConfig } from '../config.ts';
import type { ReplicaExit } from '../contracts.ts';
import { ensureStandinImage } from '../image/build.ts';
import { createDeployment, deploymentIdOf } from '../manager.ts';
import { LABELS, containerName, deploymentLabelFilter } from './container-spec.ts';
import { DockerDriver } from './docker.ts';

const SOCKET = process.env['DOCKER_SOCKET'] ?? '/var/run/docker.sock';
const POOL = 'twin';
const docker = new Docker({ socketPath: SOCKET });
const root = mkdtempSync(join(tmpdir(), 'switchyard-docker-scope-'));
let configs: [DeployConfig, DeployConfig];

function configFor(name: string, image: { repository: string; tag: string }): DeployConfig {
  return parseDeployConfig({
    driver: 'docker',
    gpus: 2,
    stateDir: join(root, name, 'state'),
    docker: {
      socketPath: SOCKET,
      image: image.repository,
      tag: image.tag,
      requestGpus: false,
      restartPolicy: 'no',
      hfCacheDir: join(root, name, 'hf-cache'),
      shmSizeBytes: 64 * 1024 * 1024,
      env: { SWITCHYARD_SIM_SPEED: '20' },
    },
    pools: [
      {
        name: POOL,
        model: 'llama-3.1-8b',
        gpu: 'a10g',
        replicas: 1,
        maxReplicas: 2,
        healthTimeoutMs: 30_000,
        stopGraceMs: 1_000,
      },
    ],
  });
}

async function containersOf(config: DeployConfig): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: deploymentLabelFilter(deploymentIdOf(config)) } });
}

async function removeAll(): Promise<void> {
  for (const config of configs ?? []) {
    for (const container of await containersOf(config).catch(() => [])) {
      await docker
        .getContainer(container.Id)
        .remove({ force: true })
        .catch(() => undefined);
    }
  }
}

const quiet = pino({ level: 'silent' });

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
  configs = [configFor('a', built), configFor('b', built)];
}, 180_000);

afterAll(async () => {
  await removeAll();
  rmSync(root, { recursive: true, force: true });
}, 60_000);

describe('docker driver scoped to its deployment', () => {
  it('derives distinct, stable deployment ids from the state directories', () => {
    const [a, b] = configs;
    expect(deploymentIdOf(a)).toMatch(/^d-[0-9a-f]{12}$/);
    expect(deploymentIdOf(a)).not.toBe(deploymentIdOf(b));
    expect(deploymentIdOf(configFor('a', { repository: 'x', tag: 'y' }))).toBe(deploymentIdOf(a));
    expect(deploymentIdOf({ ...a, deploymentId: 'edge-1' })).toBe('edge-1');
  });

  it('two deployments with the same pool name coexist: list, adopt, die events and down stay inside each', async () => {
    const [configA, configB] = configs;
    const a = await createDeployment(configA, { logger: quiet });
    const b = await createDeployment(configB, { logger: quiet });
    const exitsA: ReplicaExit[] = [];
    const exitsB: ReplicaExit[] = [];
    a.driver.onExit((exit) => exitsA.push(exit));
    b.driver.onExit((exit) => exitsB.push(exit));
    try {
      await a.controllers[0]!.scaleTo(1);
      // B adopts nothing of A's and starts its own replica.
      expect(await b.controllers[0]!.adopt()).toEqual([]);
      await b.controllers[0]!.scaleTo(1);

      const listedA = await a.driver.list();
      const listedB = await b.driver.list();
      expect(listedA).toHaveLength(1);
      expect(listedB).toHaveLength(1);
      expect(listedA[0]!.replicaId).not.toBe(listedB[0]!.replicaId);
      const onEngine = [...(await containersOf(configA)), ...(await containersOf(configB))];
      expect(onEngine.map((container) => container.Labels[LABELS.deployment]).sort()).toEqual(
        [deploymentIdOf(configA), deploymentIdOf(configB)].sort(),
      );

      // A restarted `deploy` of A (a fresh driver) adopts exactly A's replica.
      const againA = await createDeployment(configA, { logger: quiet });
      try {
        const adopted = await againA.controllers[0]!.adopt();
        expect(adopted.map((replica) => replica.replicaId)).toEqual([listedA[0]!.replicaId]);
      } finally {
        await againA.close();
      }

      // B's container dies: only B hears of it; A's replica keeps serving.
      const victim = listedB[0]!.replicaId;
      await docker.getContainer(containerName(victim, deploymentIdOf(configB))).kill();
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && !exitsB.some((exit) => exit.replicaId === victim))
        await new Promise((resolve) => setTimeout(resolve, 100));
      expect(exitsB.map((exit) => exit.replicaId)).toContain(victim);
      expect(exitsA).toEqual([]);
      const health = await fetch(`${listedA[0]!.url}/health`);
      expect(health.status).toBe(200);

      // `down` of B leaves A's container alone.
      await b.down();
      expect(await containersOf(configB)).toEqual([]);
      expect((await containersOf(configA)).map((container) => container.Labels[LABELS.replica])).toEqual([
        listedA[0]!.replicaId,
      ]);
      await a.down();
      expect(await containersOf(configA)).toEqual([]);
    } finally {
      await a.close().catch(() => undefined);
      await b.close().catch(() => undefined);
    }
  }, 120_000);

  it('a driver with another deployment id cannot stop or read logs of a foreign container', async () => {
    const [configA] = configs;
    const mine = new DockerDriver({ config: configA.docker, docker, deploymentId: deploymentIdOf(configA) });
    const foreign = new DockerDriver({ config: configA.docker, docker, deploymentId: 'test-docker-scope-foreign' });
    const replicaId = `${POOL}-scope${Date.now().toString(36)}`;
    try {
      await mine.start({
        replicaId,
        pool: POOL,
        model: 'llama-3.1-8b',
        gpu: 'a10g',
        dtype: 'bf16',
        tensorParallel: 1,
        gpuIds: [],
        host: '127.0.0.1',
        port: 9,
        launchArgs: ['--model', 'meta-llama/Llama-3.1-8B-Instruct', '--port', '9', '--host', '127.0.0.1'],
      });
      expect(await foreign.list()).toEqual([]);
      await foreign.stop(replicaId, { graceMs: 0 });
      expect((await mine.list()).map((replica) => replica.replicaId)).toEqual([replicaId]);
      expect(await foreign.logs(replicaId)).toBe('');
    } finally {
      await mine.stop(replicaId, { graceMs: 0 });
      await mine.close();
      await foreign.close();
    }
  }, 60_000);
});
