// The few calls the router's request path makes into governance, so wiring it touches each router file with a few
// lines only: build Governance from the router config and runtime, install its routes (key auth, admin, dashboard),
// admit / finish / fail a generation request, and the relay hooks for streams.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Express } from 'express';
import type { StreamChunk } from '../backends/contracts.ts';
import type { RouterRuntime } from '../runtime/runtime.ts';
import type { GovernanceConfig } from '../config/governance.ts';
import type { AdmitContext } from './contracts.ts';
import { PricingCatalog, type PoolDescription } from './cost/pricing.ts';
import {
  Governance,
  HEADER_CACHE_CONTROL,
  HEADER_COST,
  type Admission,
  type GovernedEndpoint,
  type SettleOutcome,
} from './governance.ts';
import { addCostTrailer, adminRouter, authenticatedKey, declareCostTrailer, serveCacheHit } from './http.ts';
import { registerBackendGauges } from './observability/backend-metrics.ts';
import { dashboardRouter, type BackendView } from './observability/dashboard.ts';
import type { StreamObserver } from './stream-observer.ts';

/** Governance for a router runtime, or undefined when `governance.enabled` is false (the open embedded default). */
export function createRouterGovernance(
  config: GovernanceConfig | undefined,
  runtime: RouterRuntime,
): Governance | undefined {
  if (!config?.enabled) return undefined;
  const pools: PoolDescription[] = runtime.config.pools.map((pool) =>
    pool.kind === 'vllm'
      ? { name: pool.name, kind: 'vllm', gpu: pool.gpu, tensorParallel: pool.tensorParallel }
      : pool.kind === 'llamacpp'
        ? // Self-hosted without GPUs: no per-token price to meter (its hourly cost is in the batch and breakeven reports).
          { name: pool.name, kind: 'openai', modelMap: {}, costPer1MTokens: 0 }
        : {
            name: pool.name,
            kind: 'openai',
            model: pool.model,
            modelMap: pool.modelMap,
            costPer1MTokens: pool.costPer1MTokens,
          },
  );
  const governance = new Governance({
    config,
    registry: runtime.metrics.registry,
    pricing: new PricingCatalog(pools, runtime.config.models, { gpuHourly: config.cost.gpuHourly }),
    // The retrieval section names the default embedder for allowed topics and the semantic cache.
    ...(runtime.config.retrieval ? { retrieval: runtime.config.retrieval } : {}),
    routeOf: (model) => {
      const entry = runtime.config.models.find(
        (candidate) => candidate.name === model || candidate.aliases.includes(model),
      );
      return entry ? `${entry.name}:${entry.route.join('>')}` : model;
    },
  });
  for (const entry of runtime.registry.all()) governance.registerBackend(entry.state.id, entry.state.pool);
  if (governance.semantic) readiness.set(runtime, governance.semantic.ready);
  return governance;
}

const readiness = new WeakMap<RouterRuntime, Promise<void>>();

/**
 * Resolves once governance's embedding model (allowed topics / semantic cache) is loaded, rejects with the cause when
 * it cannot be; resolves at once when neither feature is on. For the router's start: awaiting it after the app is
 * built makes a model that exists but fails to load stop the start (without it, such requests fail with 503).
 */
export function governanceReady(runtime: RouterRuntime): Promise<void> {
  return readiness.get(runtime) ?? Promise.resolve();
}

/**
 * After the pipeline's front stages (key auth on /v1/* is its `auth` stage, routes/pipeline.ts), before the router's
 * routes: /admin/* (admin token) and /dashboard; backend engine gauges.
 */
export function installGovernanceRoutes(
  app: Express,
  governance: Governance | undefined,
  runtime: RouterRuntime,
): void {
  registerBackendGauges(runtime.metrics.registry, () =>
    runtime.registry
      .all()
      .map((entry) => ({ id: entry.state.id, pool: entry.state.pool, metrics: entry.state.metrics })),
  );
  if (!governance) return;
  if (governance.config.keys.adminToken) app.use('/admin', adminRouter(governance));
  if (governance.config.dashboard.enabled) app.use(dashboardRouter(() => dashboardData(governance, runtime)));
}

function dashboardData(
  governance: Governance,
  runtime: RouterRuntime,
): Parameters<typeof dashboardRouter>[0] extends () => infer T ? T : never {
  // registry.pool() refreshes health and scrape staleness; all() holds whatever the last routed request saw.
  const pools = [...new Set(runtime.registry.all().map((entry) => entry.state.pool))];
  const backends: BackendView[] = pools
    .flatMap((pool) => runtime.registry.pool(pool))
    .map((entry) => {
      const metrics = entry.state.metrics;
      return {
        id: entry.state.id,
        pool: entry.state.pool,
        kind: entry.state.kind,
        healthy: entry.state.healthy && !entry.state.metricsStale,
        circuit: entry.state.circuit,
        inFlight: entry.state.inFlightRequests,
        queue: metrics ? metrics.requestsWaiting : null,
        kvUsage: metrics ? metrics.kvCacheUsage : null,
      };
    });
  return {
    time: new Date().toISOString(),
    requestsPerSecond: governance.requestsPerSecond(),
    spendTodayUsd: governance.spentTodayUsd(),
    backends,
    recentErrors: governance.recentErrors,
  };
}

/** Runs admission on the raw body; the caller validates `admission.body` instead of `request.body`. */
export async function admitGeneration(
  governance: Governance | undefined,
  endpoint: GovernedEndpoint,
  request: IncomingMessage,
  body: unknown,
  response: ServerResponse,
  requestId: string,
  startedAt: number,
  trace?: AdmitContext['trace'],
): Promise<Admission | undefined> {
  if (!governance) return undefined;
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const cacheControl = request.headers[HEADER_CACHE_CONTROL];
  const session = request.headers['x-session-id'];
  return governance.admit({
    stickyKey: typeof session === 'string' ? session : undefined,
    endpoint,
    key: authenticatedKey(response),
    body: body as Record<string, unknown>,
    requestId,
    cacheControl: typeof cacheControl === 'string' ? cacheControl : undefined,
    startedAt,
    ...(trace === undefined ? {} : { trace }),
  });
}

/** Serves a cache hit (JSON or replayed SSE); true when the response is done. */
export function serveFromCache(
  governance: Governance | undefined,
  admission: Admission | undefined,
  response: ServerResponse,
  body: Readonly<Record<string, unknown>>,
): Promise<boolean> | false {
  if (!governance || !admission?.cache.hit) return false;
  const options = body['stream_options'] as { include_usage?: boolean | null } | null | undefined;
  return serveCacheHit(governance, admission, response, {
    stream: body['stream'] === true,
    includeUsage: options?.include_usage === true,
  });
}

export interface BufferedFinish {
  /** Headers for the answer: cost, cache, prompt, guardrails. */
  headers: Record<string, string>;
  /** The bookkeeping (budget settle, TPM, spend row, cache fill, metrics, log line, span); never rejects. Call it as a method. */
  settle(): Promise<void>;
}

const UNGOVERNED: BufferedFinish = { headers: {}, settle: () => Promise.resolve() };

/**
 * Non-streamed answer: output guardrails (may throw to block) and the price for the cost header, before the body is
 * sent; the caller runs `settle()` once the answer is on its way, so the client never waits for bookkeeping. The
 * budget stays safe meanwhile: the worst-case reservation holds until settle replaces it with the real cost.
 */
export function finishBuffered(
  governance: Governance | undefined,
  admission: Admission | undefined,
  body: Record<string, unknown>,
  served: { pool: string; backendId: string },
): BufferedFinish {
  if (!governance || !admission) return UNGOVERNED;
  const cacheable = admission.cache.result === 'miss';
  governance.guardBody(admission, body);
  const outcome = {
    usage: body['usage'] as Record<string, unknown> | undefined,
    served,
    status: 200,
    cacheAnswer: cacheable ? ({ kind: 'body', body: structuredClone(body) } as const) : undefined,
  };
  const priced = governance.price(admission, outcome);
  return new GovernedAnswer(
    { ...admission.headers, [HEADER_COST]: priced.costUsd.toFixed(8) },
    governance,
    admission,
    outcome,
  );
}

/** A class rather than closures per request (one object instead of a function per callback); call as a method. */
class GovernedAnswer implements BufferedFinish {
  constructor(
    readonly headers: Record<string, string>,
    private readonly governance: Governance,
    private readonly admission: Admission,
    private readonly outcome: SettleOutcome,
  ) {}

  async settle(): Promise<void> {
    try {
      await this.governance.settle(this.admission, this.outcome);
    } catch (error) {
      this.governance.logger.error({ err: error, requestId: this.admission.requestId }, 'settling a request failed');
    }
  }
}

/** Hooks for the SSE relay: guard/observe each chunk, flush held text, put the cost in a trailer, settle. */
export interface RelayGovernanceHooks {
  /** Headers for the 200 (declares the cost trailer). */
  headers(base: Record<string, string>): Record<string, string>;
  transform(chunk: StreamChunk): StreamChunk | null;
  /** Stop reading the upstream (every choice was blocked by a guardrail). */
  stop(): boolean;
  /** Chunks still held back when the upstream ended. */
  flush(): StreamChunk[];
  /** The relay continues a broken stream on another backend from the text the client saw. */
  continued(): void;
  /** Right before `data: [DONE]`: the cost trailer. */
  beforeDone(
    response: ServerResponse,
    usage: Record<string, unknown> | undefined,
    served: { pool: string; backendId: string },
  ): void;
  /** After the relay returned, whatever the ending: settles what was served if beforeDone did not (broken streams). */
  finalize(
    usage: Record<string, unknown> | undefined,
    served: { pool: string; backendId: string },
    ending: string,
  ): Promise<void>;
}

export function relayHooks(
  governance: Governance | undefined,
  admission: Admission | undefined,
): RelayGovernanceHooks | undefined {
  if (!governance || !admission) return undefined;
  const observer: StreamObserver = governance.observeStream(admission);
  return {
    headers: (base) => declareCostTrailer({ ...base, ...admission.headers }),
    transform: (chunk) => observer.transform(chunk),
    stop: () => observer.blocked,
    flush: () => observer.end(),
    continued: () => observer.discardHeld(),
    beforeDone(response, usage, served) {
      const outcome = { usage, served, status: 200, outputText: observer.outputText };
      addCostTrailer(response, governance.price(admission, outcome).costUsd);
      void governance.settle(admission, { ...outcome, cacheAnswer: observer.cacheAnswer() });
    },
    async finalize(usage, served, ending) {
      if (admission.done) return;
      // Tokens were generated even if the stream broke or the client left: charge them (tiktoken on what was sent
      // when the upstream's usage never arrived).
      await governance.settle(admission, { usage, served, status: ending, outputText: observer.outputText });
    },
  };
}

/** The request failed (or a stream ended badly): release the reservation. */
export async function failGeneration(
  governance: Governance | undefined,
  admission: Admission | undefined,
  error: unknown,
): Promise<void> {
  if (governance && admission) await governance.release(admission, error);
}
