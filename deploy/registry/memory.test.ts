import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../models/sim/clock.ts';
import { InMemoryPoolRegistry } from './memory.ts';
import { describePoolRegistryConformance } from './conformance.ts';

describePoolRegistryConformance('in-memory', () => {
  const clock = new VirtualClock();
  const registry = new InMemoryPoolRegistry({ clock });
  return {
    registry,
    route: (pool) => {
      const lease = registry.lease(pool);
      return lease && { replicaId: lease.replica.replicaId, finish: lease.release };
    },
    elapse: (ms) => {
      clock.advance(ms);
      return Promise.resolve();
    },
  };
});

describe('InMemoryPoolRegistry signals', () => {
  it('reports per-replica metrics, in-flight, request and spill-over rates over its window', () => {
    const clock = new VirtualClock();
    const registry = new InMemoryPoolRegistry({ clock, rateWindowMs: 10_000 });
    registry.register({ replicaId: 'a', pool: 'p', model: 'm', url: 'http://127.0.0.1:1', gpuIds: ['0'] });
    registry.reportMetrics('a', { kvCacheUsage: 0.7, requestsWaiting: 2, requestsRunning: 9 });
    const leases = Array.from({ length: 20 }, () => registry.lease('p'));
    for (let index = 0; index < 10; index++) registry.recordSpillOver('p');
    registry.setRouterQueue('p', 3);
    const signals = registry.read('p');
    expect(signals.replicas).toEqual([
      { replicaId: 'a', kvCacheUsage: 0.7, requestsWaiting: 2, requestsRunning: 9, inFlight: 20, draining: false },
    ]);
    expect(signals.requestsPerSecond).toBeCloseTo(3);
    expect(signals.spillOverPerSecond).toBeCloseTo(1);
    expect(signals.routerQueue).toBe(3);
    for (const lease of leases) lease?.release();
    clock.advance(10_001);
    const later = registry.read('p');
    expect(later.requestsPerSecond).toBe(0);
    expect(later.replicas[0]?.inFlight).toBe(0);
  });

  it('spreads requests by least in-flight', () => {
    const clock = new VirtualClock();
    const registry = new InMemoryPoolRegistry({ clock });
    for (const id of ['a', 'b', 'c']) registry.register({ replicaId: id, pool: 'p', model: 'm', url: 'u', gpuIds: [] });
    for (let index = 0; index < 9; index++) registry.lease('p');
    expect(['a', 'b', 'c'].map((id) => registry.inFlight(id))).toEqual([3, 3, 3]);
  });
});
