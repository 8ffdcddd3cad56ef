// Per-adapter router metrics on the router's own registry: requests sent per adapter, adapter loads by outcome and
// their duration, and (read at scrape time) on how many replicas each adapter is registered / running.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { BackendRegistry } from '../pools/backend-registry.ts';
import { labelCache } from '../observability/metrics.ts';
import type { AdapterCatalog } from './catalog.ts';

export interface LoraMetrics {
  requests(adapter: string): { inc(): void };
  loads(adapter: string, outcome: 'loaded' | 'already_loaded' | 'failed'): { inc(): void };
  readonly loadSeconds: { observe(seconds: number): void };
}

export function createLoraMetrics(registry: Registry, catalog: AdapterCatalog, backends: BackendRegistry): LoraMetrics {
  const requests = new Counter({
    name: 'switchyard_lora_requests_total',
    help: 'Requests sent upstream for a LoRA adapter (attempts, retries included).',
    labelNames: ['adapter'],
    registers: [registry],
  });
  const loads = new Counter({
    name: 'switchyard_lora_loads_total',
    help: 'Adapter loads the router asked a replica for (POST /v1/load_lora_adapter), by outcome.',
    labelNames: ['adapter', 'outcome'],
    registers: [registry],
  });
  const loadSeconds = new Histogram({
    name: 'switchyard_lora_load_seconds',
    help: 'Duration of adapter loads the router asked for.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  new Gauge({
    name: 'switchyard_lora_adapter_replicas',
    help: 'Replicas where an adapter is registered (known to the router) or running (scraped vllm:lora_requests_info).',
    labelNames: ['adapter', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const adapter of catalog.list()) {
        let registered = 0;
        let running = 0;
        for (const entry of backends.all()) {
          if (entry.state.registeredAdapters?.has(adapter.name)) registered++;
          if (entry.state.metrics?.lora?.running.includes(adapter.name)) running++;
        }
        this.set({ adapter: adapter.name, state: 'registered' }, registered);
        this.set({ adapter: adapter.name, state: 'running' }, running);
      }
    },
  });
  return {
    requests: labelCache((adapter) => requests.labels({ adapter })),
    loads: labelCache((adapter, outcome) => loads.labels({ adapter, outcome })) as LoraMetrics['loads'],
    loadSeconds,
  };
}
