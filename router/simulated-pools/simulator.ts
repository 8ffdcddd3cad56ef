// The `simulator` pool driver: starts the GPU-free vLLM simulator's replicas in this process and fills the pool's
// backend URLs (vLLM pools) or baseURL (`hosted` profile, for openai pools) with theirs. The config that comes out
// is an ordinary one with URLs, so the rest of the router never knows the backends are simulated.
import type { SimReplica, SimReplicaOptions } from '../../models/sim/index.ts';
import type { OpenAIPoolConfig, PoolConfig, RouterConfig, VllmPoolConfig } from '../config/schema.ts';

export interface StartedDrivers {
  config: RouterConfig;
  /** Replicas started per pool name. */
  replicas: ReadonlyMap<string, readonly SimReplica[]>;
  close(): Promise<void>;
}

export function replicaOptions(pool: VllmPoolConfig | OpenAIPoolConfig, index: number): SimReplicaOptions {
  const driver = pool.driver!;
  const extra = driver.options as Partial<SimReplicaOptions>;
  if (pool.kind === 'vllm') {
    return {
      model: pool.model,
      gpu: pool.gpu,
      tensorParallel: pool.tensorParallel,
      ...(pool.servedModel ? { servedModelName: pool.servedModel } : {}),
      ...(driver.speed ? { speed: driver.speed } : {}),
      seed: index,
      ...extra,
      profile: 'vllm',
    };
  }
  const models = [...new Set([...(pool.model ? [pool.model] : []), ...Object.values(pool.modelMap)])];
  return {
    model: models[0] ?? 'gpt-4o-mini',
    ...(pool.apiKey !== 'none' ? { apiKey: pool.apiKey } : {}),
    ...(driver.speed ? { speed: driver.speed } : {}),
    hosted: { models: models.length > 0 ? models : ['gpt-4o-mini'] },
    seed: index,
    ...extra,
    profile: 'hosted',
  };
}

/** Starts every driver-backed pool; on any failure the replicas already started are closed. */
export async function startDrivers(config: RouterConfig): Promise<StartedDrivers> {
  const started = new Map<string, SimReplica[]>();
  const all: SimReplica[] = [];
  const close = async (): Promise<void> => {
    await Promise.allSettled(all.map((replica) => replica.close()));
  };
  try {
    const pools: PoolConfig[] = [];
    for (const pool of config.pools) {
      // llama.cpp pools get real llama-server replicas from deploy/, never simulated ones.
      if (pool.kind === 'llamacpp' || !pool.driver) {
        pools.push(pool);
        continue;
      }
      const count = pool.kind === 'vllm' ? pool.driver.replicas : 1;
      // The simulator (its engine, tokenizer and Express app) loads only when a pool is simulated.
      const { startSimReplica } = await import('../../models/sim/index.ts');
      const replicas = await Promise.all(
        Array.from({ length: count }, (_, index) => startSimReplica(replicaOptions(pool, index))),
      );
      all.push(...replicas);
      started.set(pool.name, replicas);
      if (pool.kind === 'vllm') {
        pools.push({
          ...pool,
          backends: [
            ...pool.backends,
            ...replicas.map((replica, index) => ({ id: `${pool.name}-${index}`, url: replica.url })),
          ],
        });
      } else {
        pools.push({ ...pool, baseURL: `${replicas[0]!.url}/v1` });
      }
    }
    return { config: { ...config, pools }, replicas: started, close };
  } catch (error) {
    await close();
    throw error;
  }
}
