// Against a real Docker Engine (CI starts dockerd without a bridge; see deploy/README.md). The image is the simulator
// built FROM scratch on this engine (nothing is pulled); containers use host networking and bind 127.0.0.1.
// No dockerd → these tests FAIL with the command to start it; they are never skipped.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealClock } from '../../models/sim/clock.ts';
import { parseConfigText } from '../../router/config/load.ts';
import { startRouter } from '../../router/server.ts';
import { DockerConfig, PoolConfig, resolvePool } from '../config.ts';
import { GpuInventory } from '../inventory.ts';
import { type BuiltImage, ensureStandinImage, STANDIN_REPOSITORY } from '../image/build.ts';
import { PoolController, type PoolEvent } from '../pool-controller.ts';
import { InMemoryPoolRegistry } from '../registry/memory.ts';
import { LABELS, containerName, deploymentLabelFilter } from './container-spec.ts';
import { describeDriverConformance } from './conformance.ts';
import { DockerDriver } from './docker.ts';
import type { ReplicaExit } from '../contracts.ts';

const SOCKET = process.env['DOCKER_SOCKET'] ?? '/var/run/docker.sock';
/** This file's own deployment: other test files (and operators' deployments) on the engine are left alone. */
const DEPLOYMENT = 'test-docker-driver';
const docker = new Docker({ socketPath: SOCKET });
let image: BuiltImage | undefined;
let imagePromise: Promise<BuiltImage> | undefined;

/** Ping dockerd (clear failure when absent) and build the stand-in image once per test file. */
function prepare(): Promise<BuiltImage> {
  imagePromise ??= (async () => {
    try {
      await docker.ping();
    } catch (error) {
      throw new Error(
        `These tests need a running Docker Engine at ${SOCKET} (${(error as Error).message}). ` +
          'Install it with `apt-get install -y --no-install-recommends docker.io` and start it with ' +
          '`dockerd --host unix:///var/run/docker.sock --bridge=none --iptables=false --ip6tables=false &` (CI: .ci/run).',
      );
    }
    image = await ensureStandinImage(docker);
    // Older stand-in builds are dead weight on the engine.
    for (const old of await docker.listImages({ filters: { reference: [STANDIN_REPOSITORY] } })) {
      if (!(old.RepoTags ?? []).includes(image.image))
        await docker
          .getImage(old.Id)
          .remove({ force: true })
          .catch(() => undefined);
    }
    return image;
  })();
  return imagePromise;
}

function dockerConfig(built: BuiltImage): DockerConfig {
  return DockerConfig.parse({
    socketPath: SOCKET,
    image: built.repository,
    tag: built.tag,
    requestGpus: false,
    restartPolicy: 'no',
    hfCacheDir: mkdtempSync(join(tmpdir(), 'switchyard-hf-cache-')),
    shmSizeBytes: 64 * 1024 * 1024,
    env: { SWITCHYARD_SIM_SPEED: '20' },
  });
}

async function removeLeftovers(): Promise<void> {
  const containers = await docker
    .listContainers({ all: true, filters: { label: deploymentLabelFilter(DEPLOYMENT) } })
    .catch(() => []);
  for (const container of containers) {
    if (container.Labels[LABELS.pool]?.startsWith('dk') || container.Labels[LABELS.pool] === 'conf') {
      await docker
        .getContainer(container.Id)
        .remove({ force: true })
        .catch(() => undefined);
    }
  }
}

beforeAll(async () => {
  await prepare();
  await removeLeftovers();
}, 120_000);
afterAll(removeLeftovers, 60_000);

describeDriverConformance('docker (dockerode, FROM-scratch stand-in image)', async () => {
  const built = await prepare();
  const config = dockerConfig(built);
  return {
    host: '127.0.0.1',
    healthTimeoutMs: 20_000,
    makeDriver: () => new DockerDriver({ config, docker, deploymentId: DEPLOYMENT }),
    killExternally: async (replicaId: string) => {
      await docker.getContainer(containerName(replicaId, DEPLOYMENT)).kill();
    },
  };
});

describe('docker driver under load', () => {
  it('scales 1 → 3 → 1 while a bounded load runs, with zero failed requests (drained scale-down)', async () => {
    const built = await prepare();
    const driver = new DockerDriver({ config: dockerConfig(built), docker, deploymentId: DEPLOYMENT });
    const registry = new InMemoryPoolRegistry({ clock: new RealClock() });
    const inventory = new GpuInventory(['0', '1', '2', '3']);
    const pool = resolvePool(
      PoolConfig.parse({
        name: 'dkload',
        model: 'llama-3.1-8b',
        gpu: 'a10g',
        replicas: 1,
        maxReplicas: 3,
        maxNumSeqs: 32,
        healthTimeoutMs: 20_000,
        drainTimeoutMs: 15_000,
        stopGraceMs: 3_000,
      }),
    );
    const events: (PoolEvent & { at: number })[] = [];
    const controller = new PoolController({
      pool,
      driver,
      inventory,
      registry,
      host: '127.0.0.1',
      logger: { info: () => undefined, warn: () => undefined },
      onEvent: (event) => events.push({ ...event, at: Date.now() }),
    });
    try {
      await controller.scaleTo(1);

      // Bounded closed-loop load: 4 workers, each request routed through the registry (the router's job) and sent
      // with the openai SDK; stops when told or after 600 requests / 60 s, whichever first.
      const outcome = { ok: 0, failed: 0, byReplica: new Map<string, number>(), errors: [] as string[] };
      let stop = false;
      const deadline = Date.now() + 60_000;
      const worker = async (): Promise<void> => {
        while (!stop && Date.now() < deadline && outcome.ok + outcome.failed < 600) {
          const lease = registry.lease('dkload');
          if (!lease) {
            outcome.failed++;
            outcome.errors.push('no routable replica');
            await new Promise((resolve) => setTimeout(resolve, 20));
            continue;
          }
          const client = new OpenAI({
            baseURL: `${lease.replica.url}/v1`,
            apiKey: 'unused',
            maxRetries: 0,
            timeout: 20_000,
          });
          try {
            const completion = await client.chat.completions.create({
              model: 'llama-3.1-8b',
              messages: [{ role: 'user', content: 'Count to ten.' }],
              max_tokens: 160,
            });
            if (completion.choices.length !== 1) throw new Error('no choice');
            outcome.ok++;
            outcome.byReplica.set(lease.replica.replicaId, (outcome.byReplica.get(lease.replica.replicaId) ?? 0) + 1);
          } catch (error) {
            outcome.failed++;
            outcome.errors.push(`${lease.replica.replicaId}: ${(error as Error).message}`);
          } finally {
            lease.release();
          }
        }
      };
      const workers = Array.from({ length: 4 }, () => worker());

      const upStarted = Date.now();
      await controller.scaleTo(3);
      const scaleUpMs = Date.now() - upStarted;
      expect(registry.list('dkload')).toHaveLength(3);

      // Real requests through the real router, its vLLM pool pointed at the three containers the driver registered.
      const routerConfig = parseConfigText(
        JSON.stringify({
          server: { host: '127.0.0.1', port: 0 },
          pools: [
            {
              name: 'dkload',
              kind: 'vllm',
              model: 'llama-3.1-8b',
              gpu: 'a10g',
              backends: registry.list('dkload').map((replica) => ({ id: replica.replicaId, url: replica.url })),
            },
          ],
          models: [{ name: 'llama-3.1-8b', route: ['dkload'] }],
        }),
        'docker test router',
        {},
      );
      const router = await startRouter(routerConfig, { port: 0 });
      try {
        const client = new OpenAI({ baseURL: `${router.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 20_000 });
        const answers = await Promise.all(
          Array.from({ length: 6 }, () =>
            client.chat.completions.create({
              model: 'llama-3.1-8b',
              messages: [{ role: 'user', content: 'hi' }],
              max_tokens: 8,
            }),
          ),
        );
        expect(answers.every((answer) => answer.choices[0]?.message.content !== undefined)).toBe(true);
      } finally {
        await router.close();
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      const downStarted = Date.now();
      await controller.scaleTo(1);
      const scaleDownMs = Date.now() - downStarted;
      await new Promise((resolve) => setTimeout(resolve, 300));
      stop = true;
      await Promise.all(workers);

      expect(outcome.errors).toEqual([]);
      expect(outcome.failed).toBe(0);
      expect(outcome.ok).toBeGreaterThan(20);
      // All three replicas served traffic while they were up.
      expect(outcome.byReplica.size).toBe(3);
      expect(registry.list('dkload')).toHaveLength(1);
      const remaining = (await driver.list()).filter((replica) => replica.pool === 'dkload');
      expect(remaining).toHaveLength(1);
      const drains = events.filter((event) => event.type === 'drained');
      expect(drains).toHaveLength(2);
      const ready = events.filter((event) => event.type === 'ready').map((event) => event.elapsedMs ?? 0);
      console.log(
        `[deploy timings] docker stand-in: image ${built.built ? 'built' : 'reused'} in ${built.buildMs} ms; ` +
          `replica ready after ${ready.map((ms) => `${ms} ms`).join(', ')}; scale 1→3 took ${scaleUpMs} ms; ` +
          `scale 3→1 (drain + stop + remove) took ${scaleDownMs} ms; drains ${drains.map((event) => `${event.elapsedMs} ms`).join(', ')}; ` +
          `${outcome.ok} requests, ${outcome.failed} failed`,
      );
    } finally {
      await controller.down();
      await driver.close();
    }
  }, 90_000);
});

describe('docker driver and the engine restart policy', () => {
  it('does not report a crash the restart policy is handling; reports it once the retries are spent', async () => {
    const built = await prepare();
    const config = { ...dockerConfig(built), restartPolicy: 'on-failure' as const, restartMaxRetries: 2 };
    const driver = new DockerDriver({ config, docker, deploymentId: DEPLOYMENT });
    const exits: ReplicaExit[] = [];
    driver.onExit((exit) => exits.push(exit));
    const replicaId = `dkcrash-${Date.now().toString(36)}`;
    try {
      // A model the stand-in does not know: the process exits 1 at once, every time the engine restarts it.
      await driver.start({
        replicaId,
        pool: 'dkcrash',
        model: 'llama-3.1-8b',
        gpu: 'a10g',
        dtype: 'bf16',
        tensorParallel: 1,
        gpuIds: [],
        host: '127.0.0.1',
        port: 9,
        launchArgs: ['--model', 'no/such-model', '--port', '9'],
      });
      const container = docker.getContainer(containerName(replicaId, DEPLOYMENT));
      const deadline = Date.now() + 20_000;
      let state = await container.inspect();
      while (Date.now() < deadline && (state.State.Running || state.State.Restarting || exits.length === 0)) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        state = await container.inspect();
      }
      expect(state.RestartCount).toBe(2);
      expect(state.State.ExitCode).toBe(1);
      expect(exits).toEqual([{ replicaId, pool: 'dkcrash', exitCode: 1, detail: 'container die (exit 1)' }]);
      expect(await driver.logs(replicaId)).toMatch(/knows no model for --model no\/such-model/);
    } finally {
      await driver.stop(replicaId, { graceMs: 0 });
      await driver.close();
    }
  }, 40_000);
});

describe('docker driver without a reachable engine', () => {
  it('fails with the command that starts dockerd', async () => {
    const driver = new DockerDriver({
      config: DockerConfig.parse({ socketPath: '/tmp/switchyard-no-such-docker.sock' }),
    });
    await expect(driver.ping()).rejects.toThrow(
      /Docker Engine not reachable at \/tmp\/switchyard-no-such-docker.sock .*dockerd --host unix:\/\/\/var\/run\/docker.sock --bridge=none/,
    );
    await expect(driver.ping()).rejects.toMatchObject({ status: 503, retryable: true, code: 'driver_unavailable' });
  });
});
