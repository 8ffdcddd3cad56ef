// Builders for this folder's tests: backend states, requests and a seeded RNG.
import type { BackendState, EndpointMetrics, SchedulingRequest } from './contracts.ts';
import { seededRandom } from '../../models/random.ts';

export function makeMetrics(overrides: Partial<EndpointMetrics> = {}): EndpointMetrics {
  return {
    requestsRunning: 0,
    requestsWaiting: 0,
    kvCacheUsage: 0,
    prefixCacheQueries: 0,
    prefixCacheHits: 0,
    scrapedAt: 0,
    ...overrides,
  };
}

/** `metrics: undefined` in the overrides means "no scrape" (the property is removed). */
export type BackendOverrides = Partial<Omit<BackendState, 'metrics'>> & { metrics?: EndpointMetrics | undefined };

export function makeBackend(id: string, overrides: BackendOverrides = {}): BackendState {
  const backend: BackendState = {
    id,
    pool: 'pool-a',
    kind: 'vllm',
    url: `http://127.0.0.1:1/${id}`,
    models: ['llama-3.1-8b'],
    healthy: true,
    circuit: 'closed',
    inFlightRequests: 0,
    inFlightTokens: 0,
    metrics: makeMetrics(),
    metricsStale: false,
    relativeCost: 1,
    ...(overrides as Partial<BackendState>),
  };
  if ('metrics' in overrides && overrides.metrics === undefined) delete backend.metrics;
  return backend;
}

export function makeRequest(overrides: Partial<SchedulingRequest> = {}): SchedulingRequest {
  return { requestId: 'req-1', model: 'llama-3.1-8b', promptTokens: 100, prefixBlockHashes: [], ...overrides };
}

/** mulberry32: a tiny seeded PRNG, uniform in [0,1). */
export { seededRandom };

/** A random but valid backend population for property-style conformance tests. */
export function randomBackends(random: () => number, count: number): BackendState[] {
  return Array.from({ length: count }, (_, index) => {
    const hosted = random() < 0.15;
    return makeBackend(`b${index}`, {
      kind: hosted ? 'openai' : 'vllm',
      healthy: random() < 0.85,
      circuit: random() < 0.8 ? 'closed' : random() < 0.5 ? 'open' : 'half-open',
      models: random() < 0.9 ? ['llama-3.1-8b'] : ['llama-3.1-70b'],
      inFlightRequests: Math.floor(random() * 40),
      inFlightTokens: Math.floor(random() * 40_000),
      metricsStale: !hosted && random() < 0.1,
      relativeCost: 0.5 + random() * 4,
      ...(hosted
        ? { metrics: undefined }
        : {
            metrics: makeMetrics({
              requestsRunning: Math.floor(random() * 64),
              requestsWaiting: Math.floor(random() * 30),
              kvCacheUsage: random(),
              // LoRA state derived from the index (no extra draws, so the other fields keep their values).
              ...(index % 3 === 0
                ? {}
                : {
                    lora: {
                      running: index % 2 ? ['x'] : ['y', 'z'],
                      waiting: index % 4 ? [] : ['x'],
                      maxLoras: 1 + (index % 3),
                    },
                  }),
            }),
          }),
    });
  });
}
