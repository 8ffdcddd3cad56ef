// Per-backend engine gauges from the router's scraped vLLM metrics (queue, running, KV-cache usage), registered on the
// router's registry whether governance is on or not (the router already exports in-flight and circuit state).
import { Gauge, type Registry } from 'prom-client';

export interface ScrapedBackend {
  id: string;
  pool: string;
  metrics: { requestsRunning: number; requestsWaiting: number; kvCacheUsage: number } | undefined;
}

export function registerBackendGauges(registry: Registry, backends: () => Iterable<ScrapedBackend>): void {
  const gauge = (
    name: string,
    help: string,
    pick: (metrics: NonNullable<ScrapedBackend['metrics']>) => number,
  ): void => {
    if (registry.getSingleMetric(name)) return;
    new Gauge({
      name,
      help,
      labelNames: ['backend', 'pool'],
      registers: [registry],
      collect() {
        this.reset();
        for (const backend of backends()) {
          if (backend.metrics) this.set({ backend: backend.id, pool: backend.pool }, pick(backend.metrics));
        }
      },
    });
  };
  gauge(
    'switchyard_backend_queue_requests',
    'Requests waiting in each vLLM engine (last scrape of num_requests_waiting).',
    (m) => m.requestsWaiting,
  );
  gauge(
    'switchyard_backend_running_requests',
    'Requests running in each vLLM engine (last scrape of num_requests_running).',
    (m) => m.requestsRunning,
  );
  gauge(
    'switchyard_backend_kv_cache_usage_ratio',
    'KV-cache usage of each vLLM engine, 0..1 (last scrape).',
    (m) => m.kvCacheUsage,
  );
}
