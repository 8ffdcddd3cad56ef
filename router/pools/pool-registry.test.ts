// The router passes deploy/'s PoolRegistry conformance suite (deploy/registry/conformance.ts), routing with the real
// scheduler and the router-side in-flight counters; plus the signals and spill-over advice deploy/ reads and writes.
import { describe, expect, it } from 'vitest';
import { describePoolRegistryConformance } from '../../deploy/registry/conformance.ts';
import { validateConfig } from '../config/load.ts';
import { createMetricsScraper, createScheduler } from '../scheduling-facade/index.ts';
import { BackendRegistry } from './backend-registry.ts';
import { RouterPoolRegistry } from './pool-registry.ts';
import { PoolTraffic } from './pool-traffic.ts';

function build() {
  const config = validateConfig(
    {
      pools: [
        { name: 'p', kind: 'vllm', model: 'llama-3.1-8b', gpu: 'h100' },
        { name: 'other', kind: 'vllm', model: 'llama-3.1-8b', gpu: 'h100' },
      ],
      models: [
        { name: 'm', route: ['p'] },
        { name: 'o', route: ['other'] },
      ],
      // The conformance suite's replicas have no /metrics: schedule on health and in-flight alone.
      scheduling: {
        filters: ['healthy', 'serves-model', 'circuit-closed'],
        scorers: [{ type: 'in-flight', weight: 1 }],
      },
    },
    'test',
    {},
  );
  const registry = new BackendRegistry();
  const scraper = createMetricsScraper({ backends: [], intervalMs: 50, staleAfterMs: 500 });
  registry.setScraper(scraper);
  const traffic = new PoolTraffic();
  const pools = new RouterPoolRegistry({
    config,
    registry,
    scraper,
    traffic,
    stepModelFor: () => undefined,
    relativeCostFor: () => 1,
  });
  const scheduler = createScheduler(config.scheduling);
  const route = (pool: string) => {
    const model = pool === 'p' ? 'm' : 'o';
    const request = { requestId: 'r', model, promptTokens: 10, prefixBlockHashes: [] };
    const picked = scheduler.schedule(
      request,
      registry.pool(pool).map((entry) => entry.state),
    ).picked;
    if (!picked) return undefined;
    const entry = registry.get(picked.backend.id)!;
    registry.admit(entry, 10);
    let done = false;
    return {
      replicaId: entry.state.id,
      finish() {
        if (!done) registry.release(entry, 10);
        done = true;
      },
    };
  };
  return { pools, registry, traffic, route };
}

describePoolRegistryConformance('router', () => {
  const { pools, route } = build();
  return { registry: pools, route, elapse: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) };
});

describe('router pool signals and spill-over advice', () => {
  it('reports replicas, in-flight counts and draining', async () => {
    const { pools, route } = build();
    pools.register({ replicaId: 'a', pool: 'p', model: 'served-8b', url: 'http://127.0.0.1:1', gpuIds: ['0'] });
    const held = route('p');
    const signals = pools.read('p');
    expect(signals.replicas).toEqual([
      { replicaId: 'a', kvCacheUsage: 0, requestsWaiting: 0, requestsRunning: 0, inFlight: 1, draining: false },
    ]);
    const drain = pools.drain('a', { timeoutMs: 5_000 });
    expect(pools.read('p').replicas[0]?.draining).toBe(true);
    held?.finish();
    await expect(drain).resolves.toMatchObject({ drained: true });
    await pools.deregister('a');
  });

  it('refuses replicas for pools the router does not have', () => {
    const { pools } = build();
    expect(() =>
      pools.register({ replicaId: 'x', pool: 'nope', model: 'm', url: 'http://127.0.0.1:1', gpuIds: [] }),
    ).toThrow(/no vLLM or llama.cpp pool "nope"/);
  });

  it('turns spill-over advice on and off per pool', () => {
    const { pools, registry } = build();
    pools.adviseSpillOver('p', { preferHosted: true, reason: 'starting', startingReplicas: 1 });
    expect(registry.prefersHosted('p')).toBe(true);
    expect(registry.prefersHosted('other')).toBe(false);
    pools.adviseSpillOver('p', { preferHosted: false, reason: 'ok', startingReplicas: 0 });
    expect(registry.prefersHosted('p')).toBe(false);
  });
});
