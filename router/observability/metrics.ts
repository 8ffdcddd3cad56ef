// The router's Prometheus metrics, on a registry owned by one router instance (tests run several side by side).
// Stage durations are measured by the router itself, so "router overhead" is a number it reports, not a guess.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { LeanCounter, LeanHistogram, type HistogramChild } from './lean-metrics.ts';

export type Stage = 'validate' | 'route' | 'upstream_first_byte' | 'overhead';

export interface BackendGaugeSource {
  forEachBackend(visit: (id: string, pool: string, inFlight: number, circuit: number, stale: boolean) => void): void;
}

/**
 * Caches label children by their values, in one nested map per label position: `labels()` builds and hashes a key
 * on every call, and this runs several times per request.
 */
export function labelCache<T>(create: (...values: string[]) => T): (...values: string[]) => T {
  const root = new Map<string, unknown>();
  return (...values) => {
    let node = root;
    const last = values.length - 1;
    for (let index = 0; index < last; index++) {
      let next = node.get(values[index]!) as Map<string, unknown> | undefined;
      if (next === undefined) {
        next = new Map<string, unknown>();
        node.set(values[index]!, next);
      }
      node = next;
    }
    const key = values[last] ?? '';
    let child = node.get(key) as T | undefined;
    if (child === undefined) {
      child = create(...values);
      node.set(key, child);
    }
    return child;
  };
}

export interface RouterMetrics {
  readonly registry: Registry;
  // Updated on every request: lean metrics (router/observability/lean-metrics.ts); the rarer ones stay prom-client's.
  readonly requests: LeanCounter<'endpoint' | 'model' | 'route_reason' | 'status'>;
  readonly requestDuration: LeanHistogram<'endpoint' | 'route_reason' | 'stream'>;
  readonly stageDuration: LeanHistogram<'stage'>;
  /** Pre-bound children of stageDuration: a labels lookup per observation is measurable on the hot path. */
  readonly stage: Readonly<Record<Stage, HistogramChild>>;
  readonly spillovers: Counter<'model' | 'from_pool' | 'to_pool' | 'cause'>;
  readonly attempts: LeanCounter<'backend' | 'outcome'>;
  readonly escalations: Counter<'model' | 'check'>;
  readonly streamFailures: Counter<'action'>;
  readonly tokens: LeanCounter<'model' | 'kind'>;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Router stages are sub-millisecond: buckets from 10 µs. */
const STAGE_BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1];

/** What `switchyard_pool_info` says about a configured pool (structurally a config/schema.ts PoolConfig). */
export interface PoolInfo {
  name: string;
  kind: string;
  model?: string | undefined;
  gpu?: string | undefined;
  tensorParallel?: number | undefined;
}

export function createRouterMetrics(
  backends: BackendGaugeSource,
  options: { processMetrics?: boolean; pools?: readonly PoolInfo[] } = {},
): RouterMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'switchyard_' });
  // Static pool facts for cost reports (`switchyard breakeven --live`): GPU type and GPUs per replica; replicas are
  // the pool's series of switchyard_backend_in_flight_requests.
  const poolInfo = new Gauge({
    name: 'switchyard_pool_info',
    help: 'Configured pools (value 1): kind, catalog model, GPU type and GPUs per replica (tensor parallel) of vLLM pools.',
    labelNames: ['pool', 'kind', 'model', 'gpu', 'gpus'],
    registers: [registry],
  });
  for (const pool of options.pools ?? []) {
    const selfHosted = pool.kind === 'vllm';
    poolInfo.set(
      {
        pool: pool.name,
        kind: pool.kind,
        model: pool.model ?? '',
        gpu: selfHosted ? (pool.gpu ?? '') : '',
        gpus: selfHosted ? String(pool.tensorParallel ?? 1) : '0',
      },
      1,
    );
  }
  const inFlight = new Gauge({
    name: 'switchyard_backend_in_flight_requests',
    help: 'Requests the router has in flight to each backend (router-side counter).',
    labelNames: ['backend', 'pool'],
    registers: [registry],
    collect() {
      this.reset();
      backends.forEachBackend((id, pool, count) => this.set({ backend: id, pool }, count));
    },
  });
  void inFlight;
  new Gauge({
    name: 'switchyard_backend_circuit_state',
    help: 'Circuit breaker state per backend: 0 closed, 1 half-open, 2 open.',
    labelNames: ['backend', 'pool'],
    registers: [registry],
    collect() {
      this.reset();
      backends.forEachBackend((id, pool, _inFlight, circuit) => this.set({ backend: id, pool }, circuit));
    },
  });
  new Gauge({
    name: 'switchyard_backend_metrics_stale',
    help: '1 when the backend’s last good /metrics scrape is too old (treated as saturated).',
    labelNames: ['backend', 'pool'],
    registers: [registry],
    collect() {
      this.reset();
      backends.forEachBackend((id, pool, _inFlight, _circuit, stale) => this.set({ backend: id, pool }, stale ? 1 : 0));
    },
  });
  const stageDuration = new LeanHistogram({
    name: 'switchyard_stage_duration_seconds',
    help: 'Duration of each router stage; `overhead` is the router’s own time per request (no upstream time).',
    labelNames: ['stage'],
    buckets: STAGE_BUCKETS,
    registers: [registry],
  });
  const stage: Record<Stage, HistogramChild> = {
    validate: stageDuration.labels({ stage: 'validate' }),
    route: stageDuration.labels({ stage: 'route' }),
    upstream_first_byte: stageDuration.labels({ stage: 'upstream_first_byte' }),
    overhead: stageDuration.labels({ stage: 'overhead' }),
  };
  return {
    registry,
    stageDuration,
    stage,
    requests: new LeanCounter({
      name: 'switchyard_requests_total',
      help: 'Requests by endpoint, requested model, route reason and response status.',
      labelNames: ['endpoint', 'model', 'route_reason', 'status'],
      registers: [registry],
    }),
    requestDuration: new LeanHistogram({
      name: 'switchyard_request_duration_seconds',
      help: 'End-to-end request latency by route reason.',
      labelNames: ['endpoint', 'route_reason', 'stream'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    spillovers: new Counter({
      name: 'switchyard_spillover_total',
      help: 'Requests sent past their primary pool because it was saturated or over the TTFT SLO.',
      labelNames: ['model', 'from_pool', 'to_pool', 'cause'],
      registers: [registry],
    }),
    attempts: new LeanCounter({
      name: 'switchyard_upstream_attempts_total',
      help: 'Upstream attempts by backend and outcome (success, retryable, fatal, aborted).',
      labelNames: ['backend', 'outcome'],
      registers: [registry],
    }),
    escalations: new Counter({
      name: 'switchyard_escalations_total',
      help: 'Non-streamed responses that failed a quality check and moved to the next tier.',
      labelNames: ['model', 'check'],
      registers: [registry],
    }),
    streamFailures: new Counter({
      name: 'switchyard_stream_failures_total',
      help: 'Streams that broke after bytes reached the client, by what the router did (continued, error_event).',
      labelNames: ['action'],
      registers: [registry],
    }),
    tokens: new LeanCounter({
      name: 'switchyard_tokens_total',
      help: 'Prompt and completion tokens reported by upstream usage.',
      labelNames: ['model', 'kind'],
      registers: [registry],
    }),
  };
}
