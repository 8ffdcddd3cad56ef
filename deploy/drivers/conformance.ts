// The suite every Driver runs against real replicas: start → healthy → listed → logs → stop (idempotent); a second
// driver instance adopts what the first started; a replica killed from outside is reported through onExit; and the
// full pool lifecycle (create → healthy → registered → drained → removed) through a PoolController.
import { afterAll, describe, expect, it } from 'vitest';
import type { Driver, ReplicaExit, ReplicaSpec } from '../contracts.ts';
import { launchArgsFor, resolvePool, PoolConfig } from '../config.ts';
import { freePort, waitHealthy } from '../health.ts';
import { GpuInventory } from '../inventory.ts';
import { PoolController, type PoolEvent } from '../pool-controller.ts';
import { InMemoryPoolRegistry } from '../registry/memory.ts';
import { RealClock } from '../../models/sim/clock.ts';

export interface DriverHarness {
  /** A fresh driver instance over the same backing state (same dockerd / same state dir). */
  makeDriver(): Driver;
  /** Kill the replica from outside the driver (SIGKILL the process, `docker kill` the container). */
  killExternally(replicaId: string): Promise<void>;
  /** Bind host for replicas. */
  host: string;
  /** Upper bound for one replica to become healthy on this machine. */
  healthTimeoutMs: number;
}

const POOL = resolvePool(
  PoolConfig.parse({
    name: 'conf',
    model: 'llama-3.1-8b',
    gpu: 'a10g',
    maxNumSeqs: 32,
    healthTimeoutMs: 30_000,
    drainTimeoutMs: 10_000,
    stopGraceMs: 3_000,
  }),
);

let sequence = 0;
async function specFor(harness: DriverHarness, gpuIds: string[] = ['0']): Promise<ReplicaSpec> {
  const port = await freePort();
  return {
    replicaId: `conf-${process.pid}-${Date.now().toString(36)}-${sequence++}`,
    pool: POOL.name,
    model: POOL.model,
    gpu: POOL.gpu,
    dtype: POOL.dtype,
    tensorParallel: POOL.tensorParallel,
    gpuIds,
    host: harness.host,
    port,
    launchArgs: launchArgsFor(POOL, port, harness.host),
  };
}

const silent = { info: () => undefined, warn: () => undefined };

export function describeDriverConformance(name: string, makeHarness: () => Promise<DriverHarness>): void {
  describe(`Driver conformance: ${name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterAll(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    });

    it('starts a replica that becomes healthy, lists it, shows its logs, and stops it idempotently', async () => {
      const harness = await makeHarness();
      const driver = harness.makeDriver();
      cleanups.push(() => driver.close());
      const spec = await specFor(harness, ['1']);
      const info = await driver.start(spec);
      cleanups.push(() => driver.stop(spec.replicaId, { graceMs: 0 }));
      expect(info).toMatchObject({
        replicaId: spec.replicaId,
        pool: 'conf',
        model: 'llama-3.1-8b',
        port: spec.port,
        gpuIds: ['1'],
      });
      expect(await waitHealthy(info.url, { timeoutMs: harness.healthTimeoutMs })).toBe('healthy');
      const models = (await (await fetch(`${info.url}/v1/models`)).json()) as { data: { id: string }[] };
      expect(models.data.map((model) => model.id)).toEqual(['llama-3.1-8b']);
      const listed = (await driver.list()).find((replica) => replica.replicaId === spec.replicaId);
      expect(listed).toMatchObject({ phase: 'running', url: info.url, gpuIds: ['1'], pool: 'conf' });
      expect(await driver.logs(spec.replicaId)).toMatch(/stand-in: llama-3.1-8b/);
      await driver.stop(spec.replicaId, { graceMs: 3_000 });
      expect((await driver.list()).some((replica) => replica.replicaId === spec.replicaId)).toBe(false);
      await driver.stop(spec.replicaId);
      await driver.stop('never-existed');
      await expect(fetch(`${info.url}/health`)).rejects.toThrow();
    });

    it('a new driver instance adopts running replicas; a replica killed from outside is reported', async () => {
      const harness = await makeHarness();
      const first = harness.makeDriver();
      const spec = await specFor(harness);
      const info = await first.start(spec);
      cleanups.push(() => first.stop(spec.replicaId, { graceMs: 0 }));
      expect(await waitHealthy(info.url, { timeoutMs: harness.healthTimeoutMs })).toBe('healthy');
      await first.close();

      const second = harness.makeDriver();
      cleanups.push(() => second.close());
      const adopted = (await second.list()).find((replica) => replica.replicaId === spec.replicaId);
      expect(adopted).toMatchObject({ phase: 'running', ref: info.ref, url: info.url });
      const exits: ReplicaExit[] = [];
      const died = new Promise<void>((resolve) => {
        second.onExit((exit) => {
          exits.push(exit);
          resolve();
        });
      });
      await harness.killExternally(spec.replicaId);
      await Promise.race([died, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      expect(exits.map((exit) => exit.replicaId)).toEqual([spec.replicaId]);
      expect((await second.list()).find((replica) => replica.replicaId === spec.replicaId)?.phase ?? 'exited').toBe(
        'exited',
      );
      await second.stop(spec.replicaId, { graceMs: 0 });
    });

    it('a replica that dies is deregistered and replaced by the pool controller', async () => {
      const harness = await makeHarness();
      const driver = harness.makeDriver();
      const registry = new InMemoryPoolRegistry({ clock: new RealClock() });
      const inventory = new GpuInventory(['0', '1']);
      const events: PoolEvent[] = [];
      const pool = { ...POOL, replicas: 1, healthTimeoutMs: harness.healthTimeoutMs };
      const controller = new PoolController({
        pool,
        driver,
        inventory,
        registry,
        host: harness.host,
        logger: silent,
        onEvent: (event) => events.push(event),
      });
      cleanups.push(async () => {
        await controller.down();
        await driver.close();
      });
      await controller.scaleTo(1);
      const [original] = registry.list('conf');
      expect(original).toBeDefined();
      await harness.killExternally(original!.replicaId);
      const deadline = Date.now() + harness.healthTimeoutMs + 10_000;
      while (
        Date.now() < deadline &&
        !events.some((event) => event.type === 'ready' && event.replicaId !== original!.replicaId)
      ) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await controller.settled();
      expect(events.map((event) => event.type)).toEqual(expect.arrayContaining(['died', 'replaced']));
      const replicas = registry.list('conf');
      expect(replicas).toHaveLength(1);
      expect(replicas[0]!.replicaId).not.toBe(original!.replicaId);
      expect(await waitHealthy(replicas[0]!.url, { timeoutMs: 2_000 })).toBe('healthy');
      expect(controller.status().replacements).toBe(1);
      expect(inventory.grants().map((grant) => grant.owner)).toEqual([replicas[0]!.replicaId]);
      const ofPool = async (): Promise<string[]> =>
        (await driver.list()).filter((replica) => replica.pool === 'conf').map((replica) => replica.replicaId);
      expect(await ofPool()).toEqual([replicas[0]!.replicaId]);
      await controller.down();
      expect(await ofPool()).toEqual([]);
    });

    it('pool lifecycle: create → healthy → registered → drained (in-flight finishes) → removed; adopt after restart', async () => {
      const harness = await makeHarness();
      const driver = harness.makeDriver();
      const registry = new InMemoryPoolRegistry({ clock: new RealClock() });
      const inventory = new GpuInventory(['0', '1', '2', '3']);
      const pool = { ...POOL, replicas: 2, maxReplicas: 3, healthTimeoutMs: harness.healthTimeoutMs };
      const events: (PoolEvent & { at: number })[] = [];
      const controller = new PoolController({
        pool,
        driver,
        inventory,
        registry,
        host: harness.host,
        logger: silent,
        onEvent: (event) => events.push({ ...event, at: Date.now() }),
      });
      cleanups.push(async () => {
        await controller.down();
        await driver.close();
      });
      const upStarted = Date.now();
      const status = await controller.scaleTo(2);
      const scaleUpMs = Date.now() - upStarted;
      expect(status.replicas.map((replica) => replica.state)).toEqual(['ready', 'ready']);
      expect(registry.list('conf')).toHaveLength(2);
      expect(new Set(inventory.grants().flatMap((grant) => grant.gpuIds)).size).toBe(2);

      // A request in flight on each replica (least in-flight routing spreads them): whichever replica the scale-down
      // removes, it must be drained — its request completes with 200 — before it is stopped.
      const finishedAt = new Map<string, number>();
      const requests = [registry.lease('conf')!, registry.lease('conf')!].map((lease) =>
        fetch(`${lease.replica.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'llama-3.1-8b',
            messages: [{ role: 'user', content: 'hello' }],
            max_tokens: 400,
            ignore_eos: true,
          }),
        }).then(async (response) => {
          const body = (await response.json()) as { usage?: { completion_tokens: number } };
          finishedAt.set(lease.replica.replicaId, Date.now());
          lease.release();
          return { status: response.status, tokens: body.usage?.completion_tokens };
        }),
      );
      expect(new Set([...registry.list('conf')].map((replica) => registry.inFlight(replica.replicaId)))).toEqual(
        new Set([1]),
      );
      const before = registry.list('conf').map((replica) => replica.replicaId);
      const downStarted = Date.now();
      const scaledDown = await controller.scaleTo(1);
      const scaleDownMs = Date.now() - downStarted;
      expect(scaledDown.replicas).toHaveLength(1);
      expect(await Promise.all(requests)).toEqual([
        { status: 200, tokens: 400 },
        { status: 200, tokens: 400 },
      ]);
      const survivor = scaledDown.replicas[0]!.replicaId;
      const removed = before.find((replicaId) => replicaId !== survivor)!;
      const drained = events.find((event) => event.type === 'drained' && event.replicaId === removed);
      expect(drained?.detail).toBe('in-flight reached 0');
      const removedEvent = events.find((event) => event.type === 'removed' && event.replicaId === removed)!;
      expect(removedEvent.at).toBeGreaterThanOrEqual(finishedAt.get(removed)!);
      expect(registry.list('conf').map((replica) => replica.replicaId)).toEqual([survivor]);
      expect(inventory.grants()).toHaveLength(1);
      console.log(
        `[deploy timings] ${name}: scale 0→2 (start + /health + register) ${scaleUpMs} ms; scale 2→1 with a 400-token ` +
          `request in flight on each replica (drain + stop + remove) ${scaleDownMs} ms, drain ${drained!.elapsedMs} ms`,
      );

      // A restarted controller (new driver, new inventory, new registry) adopts the survivor instead of starting one.
      await controller.close();
      const driver2 = harness.makeDriver();
      const registry2 = new InMemoryPoolRegistry({ clock: new RealClock() });
      const inventory2 = new GpuInventory(['0', '1', '2', '3']);
      const controller2 = new PoolController({
        pool: { ...pool, replicas: 1 },
        driver: driver2,
        inventory: inventory2,
        registry: registry2,
        host: harness.host,
        logger: silent,
      });
      cleanups.push(async () => {
        await controller2.down();
        await driver2.close();
      });
      const adopted = await controller2.adopt();
      await controller2.settled();
      expect(adopted.map((replica) => replica.replicaId)).toEqual([survivor]);
      expect(controller2.status().replicas).toMatchObject([{ replicaId: survivor, state: 'ready', adopted: true }]);
      expect(registry2.list('conf').map((replica) => replica.replicaId)).toEqual([survivor]);
      expect(inventory2.grants()).toEqual(inventory.grants());
      await controller2.down();
      expect((await driver2.list()).filter((replica) => replica.pool === 'conf')).toEqual([]);
      expect(registry2.list()).toEqual([]);
      expect(inventory2.free).toHaveLength(4);
    });
  });
}
