import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RealClock } from '../../models/sim/clock.ts';
import { PoolConfig, resolvePool } from '../config.ts';
import { bundleStandinOnce } from '../image/bundle.ts';
import { GpuInventory } from '../inventory.ts';
import { PoolController, type PoolEvent } from '../pool-controller.ts';
import { InMemoryPoolRegistry } from '../registry/memory.ts';
import { LocalDriver } from './local.ts';
import { describeDriverConformance } from './conformance.ts';

const bundleDir = mkdtempSync(join(tmpdir(), 'switchyard-standin-'));

describeDriverConformance('local (simulator child processes)', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'switchyard-local-driver-'));
  const bundle = await bundleStandinOnce(bundleDir);
  return {
    host: '127.0.0.1',
    healthTimeoutMs: 20_000,
    makeDriver: () => new LocalDriver({ stateDir, simSpeed: 20, livenessPollMs: 100, bundleFile: bundle.file }),
    killExternally: (replicaId: string) => {
      const state = JSON.parse(readFileSync(join(stateDir, `${replicaId}.json`), 'utf8')) as { pid: number };
      process.kill(state.pid, 'SIGKILL');
      return Promise.resolve();
    },
  };
});

describe('local driver + GPU inventory: a TP=4 replica waits for four free GPUs', () => {
  it('queues the second 70B replica until GPUs free up, and cancels the wait on scale-down', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'switchyard-local-tp4-'));
    const bundle = await bundleStandinOnce(bundleDir);
    const driver = new LocalDriver({ stateDir, simSpeed: 20, bundleFile: bundle.file });
    const registry = new InMemoryPoolRegistry({ clock: new RealClock() });
    const inventory = new GpuInventory(['0', '1', '2', '3', '4', '5']);
    const pool = resolvePool(
      PoolConfig.parse({
        name: 'big',
        model: 'llama-3.1-70b',
        gpu: 'a100-80gb',
        replicas: 1,
        maxReplicas: 2,
        healthTimeoutMs: 20_000,
      }),
    );
    expect(pool.tensorParallel).toBe(4);
    const controller = new PoolController({
      pool,
      driver,
      inventory,
      registry,
      host: '127.0.0.1',
      logger: { info: () => undefined, warn: () => undefined },
    });
    try {
      await controller.scaleTo(1);
      expect(inventory.grants()).toEqual([{ owner: registry.list('big')[0]!.replicaId, gpuIds: ['0', '1', '2', '3'] }]);
      const launched = (await driver.list())[0]!;
      expect(launched.gpuIds).toEqual(['0', '1', '2', '3']);
      const pending = controller.scaleTo(2);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(
        controller
          .status()
          .replicas.map((replica) => replica.state)
          .sort(),
      ).toEqual(['ready', 'waiting-gpus']);
      expect(inventory.waiting).toEqual([{ owner: expect.stringMatching(/^big-/), count: 4 }]);
      expect(await driver.list()).toHaveLength(1);
      await controller.scaleTo(1);
      await pending;
      expect(inventory.waiting).toEqual([]);
      expect(controller.status().replicas.map((replica) => replica.state)).toEqual(['ready']);

      // A wait that cannot end in time fails the start (bounded), names who holds the GPUs, and is not retried.
      const events: PoolEvent[] = [];
      const impatient = new PoolController({
        pool: { ...pool, name: 'big', gpuWaitTimeoutMs: 300 },
        driver,
        inventory,
        registry,
        host: '127.0.0.1',
        logger: { info: () => undefined, warn: () => undefined },
        onEvent: (event) => events.push(event),
      });
      const status = await impatient.scaleTo(1);
      expect(status.replicas).toEqual([]);
      expect(status.startFailures).toBe(1);
      expect(events.find((event) => event.type === 'start-failed')?.detail).toMatch(
        /no 4 free GPU\(s\) within 300 ms \(host has 6; held: big-[0-9a-f]+\[0,1,2,3\]\)/,
      );
      await impatient.close();
    } finally {
      await controller.down();
      await driver.close();
    }
  });
});

describe('pool controller with a command line that crashes at start', () => {
  it('counts deaths before /health as failed starts and stops retrying after maxStartFailures', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'switchyard-local-crash-'));
    const bundle = await bundleStandinOnce(bundleDir);
    const driver = new LocalDriver({ stateDir, simSpeed: 20, bundleFile: bundle.file, livenessPollMs: 100 });
    const registry = new InMemoryPoolRegistry({ clock: new RealClock() });
    const inventory = new GpuInventory(['0', '1']);
    // The later --port wins in vLLM's parser too; "not-a-port" makes the stand-in exit 1 at once.
    const pool = resolvePool(
      PoolConfig.parse({
        name: 'crashy',
        model: 'llama-3.1-8b',
        gpu: 'a10g',
        replicas: 1,
        healthTimeoutMs: 20_000,
        extraArgs: ['--port', 'not-a-port'],
      }),
    );
    const events: PoolEvent[] = [];
    const controller = new PoolController({
      pool,
      driver,
      inventory,
      registry,
      host: '127.0.0.1',
      logger: { info: () => undefined, warn: () => undefined },
      onEvent: (event) => events.push(event),
      maxStartFailures: 2,
    });
    try {
      const status = await controller.scaleTo(1);
      expect(status.replicas).toEqual([]);
      expect(status.startFailures).toBe(2);
      expect(status.replacements).toBe(0);
      const failures = events.filter((event) => event.type === 'start-failed');
      expect(failures).toHaveLength(2);
      expect(failures[0]!.detail).toMatch(/--port must be an integer/);
      expect(inventory.free).toEqual(['0', '1']);
      expect(await driver.list()).toEqual([]);
    } finally {
      await controller.down();
      await driver.close();
    }
  });
});
