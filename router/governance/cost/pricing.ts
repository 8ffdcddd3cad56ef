// Which price applies to which pool, derived once from the router's pools and model routes (structural types, so
// this module does not depend on the router config's evolution beyond these fields).
import { gpuHourlyPrice, loadPrices, type PriceFile } from '../../../models/catalog/prices.ts';
import type { GpuId } from '../../../models/catalog/gpus.ts';
import { hostedPricing, type PoolPricing } from './cost.ts';

export type PoolDescription =
  | { name: string; kind: 'vllm'; gpu: string; tensorParallel: number }
  | {
      name: string;
      kind: 'openai';
      model?: string | undefined;
      modelMap: Readonly<Record<string, string>>;
      costPer1MTokens: number;
    };

export interface ModelRouteDescription {
  name: string;
  aliases: readonly string[];
  route: readonly string[];
}

export class PricingCatalog {
  private readonly pools = new Map<string, PoolDescription>();
  private readonly models = new Map<string, ModelRouteDescription>();
  private readonly prices: PriceFile;

  constructor(
    pools: readonly PoolDescription[],
    routes: readonly ModelRouteDescription[],
    options: { prices?: PriceFile; gpuHourly?: Readonly<Record<string, number>> } = {},
  ) {
    this.prices = options.prices ?? loadPrices();
    this.gpuHourly = options.gpuHourly ?? {};
    for (const pool of pools) this.pools.set(pool.name, pool);
    for (const route of routes) for (const name of [route.name, ...route.aliases]) this.models.set(name, route);
  }
  private readonly gpuHourly: Readonly<Record<string, number>>;

  /** Canonical router model name for a name or alias (the name itself when unknown, e.g. `auto`). */
  canonical(model: string): string {
    return this.models.get(model)?.name ?? model;
  }

  /** Price of one pool when it serves a router model. */
  forPool(poolName: string, model: string): PoolPricing | undefined {
    const pool = this.pools.get(poolName);
    if (!pool) return undefined;
    if (pool.kind === 'vllm') {
      const hourly = this.gpuHourly[pool.name] ?? gpuHourlyPrice(this.prices, pool.gpu as GpuId, 1);
      return { kind: 'self-hosted', pool: pool.name, gpus: pool.tensorParallel, hourlyPerGpu: hourly };
    }
    const canonical = this.canonical(model);
    const upstream = pool.modelMap[canonical] ?? pool.model ?? canonical;
    return hostedPricing(this.prices, pool.name, upstream, pool.costPer1MTokens);
  }

  /** Prices of every pool a model may be served by (for the worst-case reservation); all pools when unknown. */
  candidates(model: string): PoolPricing[] {
    const route = this.models.get(model);
    const poolNames = route ? route.route : [...this.pools.keys()];
    const routeModel = route?.name ?? model;
    return poolNames.flatMap((pool) => {
      const pricing = this.forPool(pool, routeModel);
      return pricing ? [pricing] : [];
    });
  }

  selfHostedPools(): Array<Extract<PoolPricing, { kind: 'self-hosted' }>> {
    return [...this.pools.values()].flatMap((pool) => {
      const pricing = pool.kind === 'vllm' ? this.forPool(pool.name, '') : undefined;
      return pricing?.kind === 'self-hosted' ? [pricing] : [];
    });
  }
}
