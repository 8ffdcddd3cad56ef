// Builds one router instance's long-lived state from a validated config whose backends all have URLs (drivers
// already started): backends, breakers, the metrics scraper, the scheduler, the route planner and the dispatcher.
// Nothing here is global, so tests run several routers side by side.
import { createVllmBackend } from '../backends/vllm.ts';
import type { PoolConfig, RouterConfig } from '../config/schema.ts';
import {
  createMetricsScraper,
  createScheduler,
  type ConfiguredScheduler,
  type MetricsScraper,
  type MetricsScraperOptions,
  type ScrapeTarget,
} from '../scheduling-facade/index.ts';
import type { ChatBackend } from '../backends/contracts.ts';
import { createRouterMetrics, type RouterMetrics } from '../observability/metrics.ts';
import { Dispatcher } from '../routing/dispatcher.ts';
import { RoutePlanner } from '../routing/plan.ts';
import { BackendRegistry } from '../pools/backend-registry.ts';
import { RouterPoolRegistry } from '../pools/pool-registry.ts';
import { PoolTraffic } from '../pools/pool-traffic.ts';
import { registerPoolSaturation } from '../pools/pool-saturation.ts';
import { createStepTimeModel, type StepTimeModel } from '../../models/step-time.ts';
import { MODELS } from '../../models/catalog/models.ts';
import { GPUS } from '../../models/catalog/gpus.ts';
import { gpuHourlyPrice, loadPrices } from '../../models/catalog/prices.ts';
import { createLoraRouting, type LoraRouting } from '../lora/index.ts';

export interface RouterRuntime {
  readonly config: RouterConfig;
  readonly planner: RoutePlanner;
  readonly registry: BackendRegistry;
  readonly scheduler: ConfiguredScheduler;
  readonly dispatcher: Dispatcher;
  readonly metrics: RouterMetrics;
  readonly scraper: MetricsScraper;
  /** deploy/'s PoolRegistry + PoolSignalSource + SpillOverAdvisor, for `createDeployment(config, { router })`. */
  readonly pools: RouterPoolRegistry;
  /** LoRA adapter catalog, loader and discovery, when the config has a `lora` section. */
  readonly lora: LoraRouting | undefined;
  close(): Promise<void>;
}

export interface RuntimeDeps {
  clock?: () => number;
  random?: () => number;
  /** Register process metrics (CPU, memory, event loop) on the router's registry. */
  processMetrics?: boolean;
  /** Transport to each configured vLLM replica (default: HTTP); benchmarks inject simulated engines on a virtual clock. */
  vllmBackend?: (options: { id: string; url: string }) => ChatBackend;
  /** The metrics scraper's transport and timers (default: undici and real timers). */
  scrape?: Pick<MetricsScraperOptions, 'fetch' | 'timers'>;
}

/** Step-time model for a vLLM pool; a simulator running `speed`× faster makes every step that much shorter. */
function stepModelFor(pool: PoolConfig): StepTimeModel | undefined {
  if (pool.kind !== 'vllm') return undefined;
  const model = createStepTimeModel({
    model: MODELS[pool.model],
    gpu: GPUS[pool.gpu],
    tensorParallel: pool.tensorParallel,
  });
  const speed = pool.driver?.speed ?? 1;
  if (speed === 1) return model;
  return {
    stepMs: (shape) => model.stepMs(shape) / speed,
    decodeStepMs: (batch, context) => model.decodeStepMs(batch, context) / speed,
    prefillMs: (tokens, cached) => model.prefillMs(tokens, cached) / speed,
  };
}

function relativeCost(pool: PoolConfig): number {
  if (pool.kind === 'openai') return pool.costPer1MTokens;
  if (pool.kind === 'llamacpp') return pool.costPerHour;
  try {
    return gpuHourlyPrice(loadPrices(), pool.gpu, pool.tensorParallel);
  } catch {
    return 1;
  }
}

export async function createRouterRuntime(config: RouterConfig, deps: RuntimeDeps = {}): Promise<RouterRuntime> {
  const clock = deps.clock ?? Date.now;
  const registry = new BackendRegistry({ clock });
  const servedBy = new Map<string, string[]>();
  for (const model of config.models) {
    for (const poolName of model.route) servedBy.set(poolName, [...(servedBy.get(poolName) ?? []), model.name]);
  }
  const scrapeTargets: ScrapeTarget[] = [];
  for (const pool of config.pools) {
    const models = servedBy.get(pool.name) ?? [];
    const cost = relativeCost(pool);
    if (pool.kind === 'vllm') {
      const stepModel = stepModelFor(pool);
      pool.backends.forEach((backendConfig, index) => {
        const id = backendConfig.id ?? `${pool.name}-${index}`;
        const backend =
          deps.vllmBackend?.({ id, url: backendConfig.url }) ??
          createVllmBackend({
            id,
            url: backendConfig.url,
            connectTimeoutMs: config.timeouts.connectMs,
            headers: pool.headers,
          });
        registry.add(backend, pool, models, config.circuitBreaker, stepModel, cost);
        scrapeTargets.push({
          id,
          url: backendConfig.url,
          ...(pool.servedModel ? { modelName: pool.servedModel } : {}),
        });
      });
    } else if (pool.kind === 'llamacpp') {
      pool.backends.forEach((backendConfig, index) => {
        const id = backendConfig.id ?? `${pool.name}-${index}`;
        const backend = createVllmBackend({
          id,
          url: backendConfig.url,
          connectTimeoutMs: config.timeouts.connectMs,
          headers: pool.headers,
          kind: 'llamacpp',
          // One request per slot is decoded at a time; a few more connections queue inside llama-server.
          connections: 64,
        });
        registry.add(backend, pool, models, config.circuitBreaker, undefined, cost);
        scrapeTargets.push({ id, url: backendConfig.url, engine: 'llamacpp' });
      });
    } else {
      if (!pool.baseURL) throw new Error(`pool ${pool.name}: no baseURL (driver not started?)`);
      // The openai SDK (~150 modules) loads only for a hosted pool.
      const { createHostedBackend } = await import('../backends/hosted.ts');
      const backend = createHostedBackend({
        id: pool.name,
        baseURL: pool.baseURL,
        apiKey: pool.apiKey,
        headers: pool.headers,
      });
      registry.add(backend, pool, models, config.circuitBreaker, undefined, cost);
    }
  }
  const scraper = createMetricsScraper({
    backends: scrapeTargets,
    intervalMs: config.scheduling.scrapeIntervalMs,
    staleAfterMs: config.scheduling.staleAfterMs,
    clock,
    ...deps.scrape,
  });
  registry.setScraper(scraper);
  await scraper.start();
  const metrics = createRouterMetrics(registry, { processMetrics: deps.processMetrics ?? true, pools: config.pools });
  const scheduler = createScheduler(config.scheduling, {
    clock,
    registry: metrics.registry,
    ...(deps.random ? { random: deps.random } : {}),
  });
  const traffic = new PoolTraffic(clock);
  const lora = config.lora
    ? createLoraRouting(config.lora, {
        registry,
        metricsRegistry: metrics.registry,
        reservedNames: new Set(config.models.flatMap((model) => [model.name, ...model.aliases])),
        clock,
      })
    : undefined;
  await lora?.start();
  const dispatcher = new Dispatcher({
    ...(lora ? { adapters: lora.loader } : {}),
    traffic,
    registry,
    scheduler,
    metrics,
    retries: config.retries,
    prefixBlockTokens: config.scheduling.prefixBlockTokens,
    ...(deps.random ? { random: deps.random } : {}),
  });
  const pools = new RouterPoolRegistry({
    config,
    registry,
    scraper,
    traffic,
    stepModelFor,
    relativeCostFor: relativeCost,
    clock,
  });
  registerPoolSaturation(metrics.registry, config, (pool) => pools.read(pool));
  return {
    config,
    pools,
    planner: new RoutePlanner(config, lora?.catalog),
    lora,
    registry,
    scheduler,
    dispatcher,
    metrics,
    scraper,
    close: () => {
      lora?.stop();
      return registry.close();
    },
  };
}
