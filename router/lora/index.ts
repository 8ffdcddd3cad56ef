// LoRA routing for one router instance: the adapter catalog (config + discovery), the loader the dispatcher sends
// adapter requests through, and the per-adapter metrics. Built by the runtime when the config has a `lora` section.
import type { Registry } from 'prom-client';
import type { BackendRegistry } from '../pools/backend-registry.ts';
import { AdapterCatalog } from './catalog.ts';
import type { LoraSectionConfig } from '../config/lora.ts';
import { AdapterDiscovery, type ModelsFetcher } from './discovery.ts';
import { AdapterLoader, type LoraTransport } from './loader.ts';
import { createLoraMetrics } from './metrics.ts';

export { LoraSectionConfig, LoraAdapterConfig, checkLoraSection } from '../config/lora.ts';
export type { LoraSectionInput } from '../config/lora.ts';
export { AdapterCatalog, type AdapterInfo } from './catalog.ts';
export { AdapterLoader, type AdapterSender, type LoraTransport } from './loader.ts';
export { AdapterDiscovery, type ModelsFetcher } from './discovery.ts';

export interface LoraRouting {
  readonly catalog: AdapterCatalog;
  readonly loader: AdapterLoader;
  readonly discovery: AdapterDiscovery | undefined;
  /** First discovery round (awaited, so the first request knows the adapters), then polling. */
  start(): Promise<void>;
  stop(): void;
}

export interface LoraRoutingDeps {
  registry: BackendRegistry;
  metricsRegistry: Registry;
  /** Router model names and aliases (adapters may not take them). */
  reservedNames: ReadonlySet<string>;
  transport?: LoraTransport;
  fetcher?: ModelsFetcher;
  clock?: () => number;
}

export function createLoraRouting(config: LoraSectionConfig, deps: LoraRoutingDeps): LoraRouting {
  const catalog = new AdapterCatalog(config.adapters, deps.reservedNames);
  const metrics = createLoraMetrics(deps.metricsRegistry, catalog, deps.registry);
  const loader = new AdapterLoader({
    catalog,
    metrics,
    loadOnDemand: config.loadOnDemand,
    loadTimeoutMs: config.loadTimeoutMs,
    ...(deps.transport ? { transport: deps.transport } : {}),
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  const discovery = config.discover
    ? new AdapterDiscovery(deps.registry, catalog, {
        intervalMs: config.discoverIntervalMs,
        ...(deps.fetcher ? { fetcher: deps.fetcher } : {}),
      })
    : undefined;
  return {
    catalog,
    loader,
    discovery,
    async start() {
      if (!discovery) return;
      await discovery.discoverOnce();
      discovery.start();
    },
    stop() {
      discovery?.stop();
    },
  };
}
