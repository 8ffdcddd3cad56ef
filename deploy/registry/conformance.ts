// The suite every PoolRegistry runs (the in-memory one now; the router's once it implements deploy's contract).
// The harness supplies a way to route one request through the implementation, so draining is tested with real
// in-flight counts rather than assumed.
import { describe, expect, it } from 'vitest';
import type { PoolRegistry, ReplicaEndpoint } from '../contracts.ts';

export interface RoutedRequest {
  replicaId: string;
  finish(): void;
}

export interface RegistryHarness {
  registry: PoolRegistry;
  /** Route one request of `pool` the way the router would; undefined when nothing is routable. */
  route(pool: string): RoutedRequest | undefined;
  /** Let `ms` of the implementation's clock pass (virtual or real). */
  elapse(ms: number): Promise<void>;
}

function endpoint(replicaId: string, pool = 'p'): ReplicaEndpoint {
  return { replicaId, pool, model: 'llama-3.1-8b', url: `http://127.0.0.1:1/${replicaId}`, gpuIds: [] };
}

export function describePoolRegistryConformance(name: string, makeHarness: () => RegistryHarness): void {
  describe(`PoolRegistry conformance: ${name}`, () => {
    it('routes only to registered replicas of the pool; register is idempotent', async () => {
      const { registry, route } = makeHarness();
      expect(route('p')).toBeUndefined();
      await registry.register(endpoint('a'));
      await registry.register(endpoint('a'));
      await registry.register(endpoint('x', 'other'));
      expect((await registry.list('p')).map((replica) => replica.replicaId)).toEqual(['a']);
      const request = route('p');
      expect(request?.replicaId).toBe('a');
      request?.finish();
    });

    it('drain stops new routing at once and resolves when in-flight reaches zero', async () => {
      const { registry, route, elapse } = makeHarness();
      await registry.register(endpoint('a'));
      await registry.register(endpoint('b'));
      const held = [route('p'), route('p'), route('p'), route('p')].filter((request) => request !== undefined);
      const onA = held.filter((request) => request.replicaId === 'a');
      expect(onA.length).toBeGreaterThan(0);
      let drained = false;
      const drain = registry.drain('a', { timeoutMs: 60_000 }).then((result) => {
        drained = true;
        return result;
      });
      for (let index = 0; index < 6; index++) {
        const request = route('p');
        expect(request?.replicaId).toBe('b');
        request?.finish();
      }
      await elapse(10);
      expect(drained).toBe(false);
      for (const request of held) request.finish();
      const result = await drain;
      expect(result).toMatchObject({ drained: true, inFlight: 0 });
    });

    it('drain gives up after its timeout and reports what is still in flight', async () => {
      const { registry, route, elapse } = makeHarness();
      await registry.register(endpoint('a'));
      const request = route('p');
      expect(request).toBeDefined();
      const drain = registry.drain('a', { timeoutMs: 50 });
      await elapse(60);
      const result = await drain;
      expect(result.drained).toBe(false);
      expect(result.inFlight).toBe(1);
      request?.finish();
    });

    it('deregister forgets the replica; draining an unknown replica resolves drained', async () => {
      const { registry, route } = makeHarness();
      await registry.register(endpoint('a'));
      await registry.deregister('a');
      expect(await registry.list()).toEqual([]);
      expect(route('p')).toBeUndefined();
      await expect(registry.drain('gone', { timeoutMs: 10 })).resolves.toMatchObject({ drained: true, inFlight: 0 });
      await registry.deregister('gone');
    });
  });
}
