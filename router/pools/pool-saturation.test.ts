import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../config/load.ts';
import type { PoolSignals, ReplicaSignals } from '../../core/pool-contracts.ts';
import { poolSaturation, registerPoolSaturation } from './pool-saturation.ts';

function replica(overrides: Partial<ReplicaSignals>): ReplicaSignals {
  return {
    replicaId: 'r',
    kvCacheUsage: 0,
    requestsWaiting: 0,
    requestsRunning: 0,
    inFlight: 0,
    draining: false,
    ...overrides,
  };
}

function signals(replicas: ReplicaSignals[]): PoolSignals {
  return { pool: 'p', at: 0, replicas, routerQueue: 0, spillOverPerSecond: 0, requestsPerSecond: 0 };
}

describe('switchyard_pool_saturation_ratio', () => {
  it('is the larger of mean KV usage and waiting per replica / 4; draining replicas do not count; no replica, no value', () => {
    expect(poolSaturation(signals([replica({ kvCacheUsage: 0.5 }), replica({ kvCacheUsage: 0.7 })]))).toBeCloseTo(0.6);
    // 12 waiting over 2 replicas = 6 per replica = 1.5 × the saturation queue.
    expect(
      poolSaturation(signals([replica({ kvCacheUsage: 0.2, requestsWaiting: 8 }), replica({ requestsWaiting: 4 })])),
    ).toBeCloseTo(1.5);
    // Router in-flight beyond vLLM's running count is queue the last scrape has not seen yet.
    expect(poolSaturation(signals([replica({ inFlight: 10, requestsRunning: 2 })]))).toBeCloseTo(2);
    expect(
      poolSaturation(signals([replica({ kvCacheUsage: 0.9, draining: true }), replica({ kvCacheUsage: 0.1 })])),
    ).toBeCloseTo(0.1);
    expect(poolSaturation(signals([replica({ draining: true })]))).toBeUndefined();
  });

  it('is exported per vLLM pool on the router registry', async () => {
    const config = parseConfigText(
      JSON.stringify({
        pools: [
          { name: 'a', kind: 'vllm', model: 'llama-3.1-8b', gpu: 'h100' },
          { name: 'b', kind: 'vllm', model: 'llama-3.1-8b', gpu: 'h100' },
          { name: 'hosted', kind: 'openai', baseURL: 'http://127.0.0.1:9/v1' },
        ],
        models: [{ name: 'm', route: ['a', 'b', 'hosted'] }],
      }),
      'test',
      {},
    );
    const registry = new Registry();
    registerPoolSaturation(registry, config, (pool) => signals(pool === 'a' ? [replica({ kvCacheUsage: 0.4 })] : []));
    const text = await registry.metrics();
    expect(text).toContain('switchyard_pool_saturation_ratio{pool="a"} 0.4');
    expect(text).not.toContain('pool="b"');
    expect(text).not.toContain('pool="hosted"');
  });
});
