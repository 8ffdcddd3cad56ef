// Starts endpoint discovery for every vLLM pool that configures it, registering into the router's pool registry.
// The first round is awaited, so a router starts with the replicas that are already healthy.
import type { RouterConfig } from '../config/schema.ts';
import type { PoolRegistry } from '../../core/pool-contracts.ts';
import type { DnsResolver } from './dns.ts';
import { type DiscoveryEvent, type HealthCheck, PoolDiscovery } from './pool-discovery.ts';

export { DiscoveryConfig, DnsDiscoveryConfig } from '../config/discovery.ts';
export { PoolDiscovery, replicaIdOf, type DiscoveryEvent, type HealthCheck } from './pool-discovery.ts';
export { resolveEndpoints, systemResolver, type DnsResolver, type Endpoint } from './dns.ts';

export interface DiscoveryDeps {
  resolver?: DnsResolver;
  afterJoin?: () => Promise<void>;
  health?: HealthCheck;
  onEvent?: (event: DiscoveryEvent) => void;
}

export interface RunningDiscovery {
  readonly pools: ReadonlyMap<string, PoolDiscovery>;
  close(): Promise<void>;
}

export async function startPoolDiscovery(
  config: RouterConfig,
  registry: PoolRegistry,
  deps: DiscoveryDeps = {},
): Promise<RunningDiscovery> {
  const pools = new Map<string, PoolDiscovery>();
  for (const pool of config.pools) {
    if (pool.kind !== 'vllm' || pool.discovery === undefined) continue;
    pools.set(
      pool.name,
      new PoolDiscovery({
        pool: pool.name,
        // Empty: requests keep their router model name (the pool's servedModel, when set, is the name to send).
        model: pool.servedModel ?? '',
        config: pool.discovery,
        registry,
        ...deps,
      }),
    );
  }
  await Promise.all([...pools.values()].map((discovery) => discovery.refresh()));
  for (const discovery of pools.values()) discovery.start();
  return {
    pools,
    close: async () => {
      await Promise.all([...pools.values()].map((discovery) => discovery.close()));
    },
  };
}
