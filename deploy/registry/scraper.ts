// Without the router, `switchyard deploy up` still needs load signals for its autoscaler: this scrapes each registered
// replica's vLLM `/metrics` (both metric-name generations) into the in-memory registry. With the router plugged in,
// the router's own scrapes feed PoolSignals instead and this is not started.
import type { TimerHandle, Clock } from '../contracts.ts';
import { parsePrometheusText } from '../telemetry/prom-text.ts';
import type { InMemoryPoolRegistry, ReplicaMetrics } from './memory.ts';

const KV_NAMES = ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc'];

/** The load figures of one vLLM `/metrics` body (summed over engines/models); undefined when none are present. */
export function parseVllmLoad(body: string): ReplicaMetrics | undefined {
  let kv: number | undefined;
  let waiting = 0;
  let running = 0;
  let seen = false;
  for (const sample of parsePrometheusText(body)) {
    if (KV_NAMES.includes(sample.name)) {
      kv = Math.max(kv ?? 0, sample.value);
      seen = true;
    } else if (sample.name === 'vllm:num_requests_waiting') {
      waiting += sample.value;
      seen = true;
    } else if (sample.name === 'vllm:num_requests_running') {
      running += sample.value;
      seen = true;
    }
  }
  return seen ? { kvCacheUsage: kv ?? 0, requestsWaiting: waiting, requestsRunning: running } : undefined;
}

export interface ScraperOptions {
  registry: InMemoryPoolRegistry;
  clock: Clock;
  intervalMs?: number;
  timeoutMs?: number;
}

export class VllmMetricsScraper {
  private readonly options: ScraperOptions;
  private timer: TimerHandle | undefined;
  private running = false;

  constructor(options: ScraperOptions) {
    this.options = options;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const loop = (): void => {
      void this.scrapeOnce().finally(() => {
        if (this.running) this.timer = this.options.clock.setTimer(this.options.intervalMs ?? 2_000, loop);
      });
    };
    loop();
  }

  stop(): void {
    this.running = false;
    this.timer?.cancel();
  }

  async scrapeOnce(): Promise<void> {
    const { registry } = this.options;
    await Promise.all(
      registry.list().map(async (replica) => {
        try {
          const response = await fetch(`${replica.url}/metrics`, {
            signal: AbortSignal.timeout(this.options.timeoutMs ?? 2_000),
          });
          if (response.status !== 200) return;
          const load = parseVllmLoad(await response.text());
          if (load) registry.reportMetrics(replica.replicaId, load);
        } catch {
          // A replica that does not answer keeps its last figures; death is the driver's business.
        }
      }),
    );
  }
}
