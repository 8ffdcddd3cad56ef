// `switchyard_pool_saturation_ratio{pool}`: the router's own per-pool load figure, the signal KEDA scales vLLM
// Deployments on (deploy/k8s/keda.yaml via the `switchyard:pool_saturation:ratio` recording rule). Mean KV-cache usage
// of the pool's routable replicas, or queue pressure (vLLM waiting + router in-flight beyond running, per replica,
// over 4), whichever is larger; the same formula as the recording rule's fallback on vLLM's own metrics.
import { Gauge, type Registry } from 'prom-client';
import type { RouterConfig } from '../config/schema.ts';
import type { PoolSignals } from '../../core/pool-contracts.ts';

/** Waiting requests per replica that count as a full queue (the recording rule divides by the same 4). */
export const QUEUE_PER_REPLICA_AT_SATURATION = 4;

export function poolSaturation(signals: PoolSignals): number | undefined {
  const live = signals.replicas.filter((replica) => !replica.draining);
  if (live.length === 0) return undefined;
  const kv = live.reduce((sum, replica) => sum + replica.kvCacheUsage, 0) / live.length;
  const waiting = live.reduce(
    (sum, replica) => sum + Math.max(replica.requestsWaiting, replica.inFlight - replica.requestsRunning, 0),
    0,
  );
  return Math.max(kv, waiting / live.length / QUEUE_PER_REPLICA_AT_SATURATION);
}

export function registerPoolSaturation(
  registry: Registry,
  config: RouterConfig,
  read: (pool: string) => PoolSignals,
): void {
  const pools = config.pools.filter((pool) => pool.kind === 'vllm').map((pool) => pool.name);
  new Gauge({
    name: 'switchyard_pool_saturation_ratio',
    help: 'Router view of each vLLM pool: max(mean KV-cache usage, waiting requests per replica / 4); KEDA scales on it.',
    labelNames: ['pool'],
    registers: [registry],
    collect() {
      this.reset();
      for (const pool of pools) {
        const value = poolSaturation(read(pool));
        if (value !== undefined) this.set({ pool }, value);
      }
    },
  });
}
