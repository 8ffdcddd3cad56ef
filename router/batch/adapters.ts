// Adapters from the batch contracts to the real router: BatchDispatcher over the router's Dispatcher (same
// validation, route planning, scheduling, retries across backends and circuit breakers as interactive traffic, but
// restricted to self-hosted vLLM pools unless hosted spill-over is allowed), and PoolLoad over the BackendRegistry's
// live states (scraped KV usage and queue, router-side in-flight counters minus the batch's own).
import type { Endpoint } from '../backends/contracts.ts';
import {
  InvalidRequestError,
  MalformedUpstreamReplyError,
  SwitchyardError,
  UpstreamTimeoutError,
  renderError,
} from '../../core/errors.ts';
import type { RoutePlan } from '../routing/plan.ts';
import { planRequest, requestInput, runRequest, validateRequest } from '../request/run-request.ts';
import { createRequestTimer } from '../routing/upstream-body.ts';
import type { RouterRuntime } from '../runtime/runtime.ts';
import { gpuHourlyPrice, loadPrices, type PriceFile } from '../../models/catalog/prices.ts';
import type { BatchDispatcher, BatchDispatchResult, BatchEndpoint, LoadSnapshot, PoolLoad } from './contracts.ts';

const ENDPOINT_KIND: Readonly<Record<BatchEndpoint, Endpoint>> = {
  '/v1/chat/completions': 'chat',
  '/v1/completions': 'completions',
  '/v1/embeddings': 'embeddings',
};

export interface RouterBatchAdapters {
  dispatcher: BatchDispatcher;
  load: PoolLoad;
}

export function routerBatchAdapters(runtime: RouterRuntime): RouterBatchAdapters {
  const blockTokens = runtime.config.scheduling.prefixBlockTokens;
  /** Batch requests in flight per router model (they are part of the pools' router-side in-flight counters). */
  const batchInFlight = new Map<string, number>();
  let prices: PriceFile | null = null;
  try {
    prices = loadPrices();
  } catch {
    prices = null;
  }

  const selfHostedPools = (plan: RoutePlan): string[] => [
    ...new Set(plan.steps.filter((step) => step.pool.kind === 'vllm').map((step) => step.pool.name)),
  ];

  const dispatcher: BatchDispatcher = {
    async dispatch(endpoint, rawBody, options): Promise<BatchDispatchResult> {
      const validated = validateRequest(ENDPOINT_KIND[endpoint], rawBody, blockTokens);
      const model = validated.body.model;
      const full = planRequest(runtime.planner, validated);
      const steps = options.allowHosted ? full.steps : full.steps.filter((step) => step.pool.kind === 'vllm');
      if (steps.length === 0) {
        throw new InvalidRequestError(
          `Model \`${model}\` has no self-hosted pool, and this batch does not allow hosted APIs.`,
          {
            code: 'no_self_hosted_pool',
            param: 'model',
          },
        );
      }
      const plan: RoutePlan = { ...full, steps };
      const key = plan.model.name;
      const controller = new AbortController();
      const onAbort = (): void => controller.abort(options.signal.reason);
      options.signal.addEventListener('abort', onAbort, { once: true });
      const deadline = setTimeout(
        () => controller.abort(new UpstreamTimeoutError('total', plan.timeouts.totalMs)),
        plan.timeouts.totalMs,
      );
      const timer = createRequestTimer();
      batchInFlight.set(key, (batchInFlight.get(key) ?? 0) + 1);
      try {
        const input = requestInput(
          validated,
          plan,
          { requestId: options.requestId, signal: controller.signal, timer },
          { ...validated.body, stream: false },
        );
        const result = await runRequest(runtime.dispatcher, input);
        if (result.streamed) {
          result.lease.finish('failure');
          throw new MalformedUpstreamReplyError('Backend streamed a batch request.');
        }
        const entry = result.lease.entry;
        // The request's share of its backend's busy time: its own upstream time split among what ran beside it.
        const concurrency = Math.max(1, entry.state.inFlightRequests);
        result.lease.finish('success');
        const usage = (result.body['usage'] ?? {}) as { prompt_tokens?: number; completion_tokens?: number };
        for (const [tokenKind, count] of [
          ['prompt', usage.prompt_tokens],
          ['completion', usage.completion_tokens],
        ] as const) {
          if (typeof count === 'number')
            runtime.metrics.tokens.inc({ model: result.lease.step.model.name, kind: tokenKind }, count);
        }
        if (entry.pool.kind === 'vllm') {
          const gpus = entry.pool.tensorParallel;
          const gpuSeconds = ((timer.upstreamMs / 1000) * gpus) / concurrency;
          const hourly = prices ? safeHourly(prices, entry.pool.gpu) : 0;
          return {
            status: 200,
            body: result.body,
            backendId: entry.state.id,
            hosted: false,
            gpuSeconds,
            costUsd: (gpuSeconds * hourly) / 3600,
          };
        }
        if (entry.pool.kind === 'llamacpp') {
          // A llama-server replica holds no GPUs here: its cost is the machine share per hour, split like GPU time.
          const seconds = timer.upstreamMs / 1000 / concurrency;
          return {
            status: 200,
            body: result.body,
            backendId: entry.state.id,
            hosted: false,
            gpuSeconds: 0,
            costUsd: (seconds * entry.pool.costPerHour) / 3600,
          };
        }
        const tokens = (usage.prompt_tokens ?? 0) + (usage.completion_tokens ?? 0);
        return {
          status: 200,
          body: result.body,
          backendId: entry.state.id,
          hosted: true,
          costUsd: (tokens * entry.pool.costPer1MTokens) / 1e6,
        };
      } catch (error) {
        // A caller's 4xx is the line's final answer; everything retryable goes back to the batch scheduler.
        if (error instanceof SwitchyardError && !error.retryable && error.status >= 400 && error.status < 500) {
          const rendered = renderError(error);
          return { status: rendered.status, body: rendered.body };
        }
        throw error;
      } finally {
        clearTimeout(deadline);
        options.signal.removeEventListener('abort', onAbort);
        batchInFlight.set(key, (batchInFlight.get(key) ?? 1) - 1);
      }
    },
  };

  const load: PoolLoad = {
    headroom(model: string): LoadSnapshot | null {
      let plan: RoutePlan;
      try {
        plan = runtime.planner.plan(model, {} as Parameters<RouterRuntime['planner']['plan']>[1]);
      } catch {
        return null;
      }
      const pools = selfHostedPools(plan);
      if (pools.length === 0) return null;
      let kvTotal = 0;
      let live = 0;
      let waiting = 0;
      let inFlight = 0;
      for (const pool of pools) {
        for (const entry of runtime.registry.pool(pool)) {
          inFlight += entry.state.inFlightRequests;
          if (
            !entry.state.healthy ||
            entry.state.circuit === 'open' ||
            entry.state.metricsStale ||
            !entry.state.metrics
          )
            continue;
          live++;
          kvTotal += entry.state.metrics.kvCacheUsage;
          waiting += entry.state.metrics.requestsWaiting;
        }
      }
      // No live replica: no room (the batch waits rather than failing against a dead pool).
      if (live === 0) return { kvUsage: 1, waiting, interactiveInFlight: 0 };
      return {
        kvUsage: kvTotal / live,
        waiting,
        interactiveInFlight: Math.max(0, inFlight - (batchInFlight.get(plan.model.name) ?? 0)),
      };
    },
  };
  return { dispatcher, load };
}

function safeHourly(prices: PriceFile, gpu: Parameters<typeof gpuHourlyPrice>[1]): number {
  try {
    return gpuHourlyPrice(prices, gpu);
  } catch {
    return 0;
  }
}
