// The stages of POST /v1/chat/completions and /v1/completions after the request is read and authenticated:
// admission → extensions → plan → cache → dispatch → respond → accounting. routes/pipeline.ts declares which of them
// run, in that order, once at start-up; a stage whose feature is off (governance, retrieval, the chain) is left out
// of the list, so it is never called. Each stage reads and writes one per-request object, GenerationRun.
import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RAW_JSON, type Endpoint } from '../backends/contracts.ts';
import { InvalidRequestError } from '../../core/errors.ts';
import type { DispatchInput, DispatchResult, Lease } from '../routing/dispatcher.ts';
import type { RoutePlan } from '../routing/plan.ts';
import { createRequestTimer, type RequestTimer } from '../routing/upstream-body.ts';
import { HEADER_OVERHEAD, routeHeaders } from '../routing/response-headers.ts';
import type { RouterRuntime } from '../runtime/runtime.ts';
import { labelCache } from '../observability/metrics.ts';
import { relayStream, type RelayOutcome } from '../streaming/relay.ts';
import type { Governance } from '../governance/governance.ts';
import {
  admitGeneration,
  failGeneration,
  finishBuffered,
  relayHooks,
  serveFromCache,
  type BufferedFinish,
  type RelayGovernanceHooks,
} from '../governance/router-adapter.ts';
import { requestContext, type RequestContext } from './context.ts';
import type { BodyCarrier } from './pipeline.ts';
import { traceparentOf } from '../observability/trace-context.ts';
import { requestSignal } from '../resilience/request-signal.ts';
import type { ChainHook } from '../chain/mount.ts';
import {
  attachCitations,
  prepareRetrievalChat,
  usesRetrievalExtensions,
  withCitationTrailer,
  type PreparedRagChat,
  type RetrievalChat,
} from '../rag/chat.ts';
import {
  planRequest,
  requestInput,
  runRequest,
  validateRequest,
  type ValidatedRequest,
} from '../request/run-request.ts';

/** Serves one generation request; `requestBody` is the parsed JSON body. */
export type GenerationHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  requestBody: unknown,
) => Promise<void>;

export type GenerationEndpoint = Exclude<Endpoint, 'embeddings'>;

/** One generation request on its way through the stages: what each stage found, for the stages after it. */
export class GenerationRun {
  readonly context: RequestContext;
  readonly timer: RequestTimer;
  /** The body the next stage reads: the caller's, then admission's rewrite (prompt templates), then RAG's. */
  body: unknown;
  admission: Awaited<ReturnType<typeof admitGeneration>> = undefined;
  rag: PreparedRagChat | undefined = undefined;
  validated: ValidatedRequest<GenerationEndpoint> | undefined = undefined;
  validatedAt = 0;
  plan: RoutePlan | undefined = undefined;
  input: DispatchInput | undefined = undefined;
  result: DispatchResult | undefined = undefined;
  /** Releases the request's deadline timer; set by dispatch, called once the request is over. */
  dispose: (() => void) | undefined = undefined;
  /** What respond served, for accounting. */
  served: Lease | undefined = undefined;
  usage: unknown = undefined;
  governed: BufferedFinish | undefined = undefined;
  hooks: RelayGovernanceHooks | undefined = undefined;
  ending: RelayOutcome['ending'] | undefined = undefined;

  constructor(
    readonly endpoint: GenerationEndpoint,
    readonly request: IncomingMessage,
    readonly response: ServerResponse,
    requestBody: unknown,
  ) {
    this.context = requestContext(response);
    this.timer = createRequestTimer(this.context.startedAt);
    this.body = requestBody;
  }
}

/** A stage returns ANSWERED when it sent the whole answer itself (a cache hit, a chained request): the rest is skipped. */
export const ANSWERED = 'answered';
export type StageOutcome = void | typeof ANSWERED;

export type GenerationStageName =
  'admission' | 'extensions' | 'extensions-guard' | 'plan' | 'cache' | 'dispatch' | 'respond' | 'accounting';

export interface GenerationStage {
  readonly name: GenerationStageName;
  /** Returns a promise only when it has to wait: each await is a microtask hop on every request. */
  run(run: GenerationRun): StageOutcome | Promise<StageOutcome>;
}

/** What the stages are built from; a part that is undefined is off. */
export interface GenerationParts {
  runtime: RouterRuntime;
  governance: Governance | undefined;
  retrieval: RetrievalChat | undefined;
  chain: ChainHook | undefined;
}

/** Governance (when on): prompt render, output-length control, input guardrails, limits, budget, cache lookup. */
export function admissionStage(governance: Governance): GenerationStage {
  return {
    name: 'admission',
    async run(run) {
      const { context } = run;
      run.admission = await admitGeneration(
        governance,
        run.endpoint,
        run.request,
        run.body,
        run.response,
        context.requestId,
        context.startedAt,
        context.trace,
      );
      if (run.admission?.body !== undefined) run.body = run.admission.body;
    },
  };
}

/** Releases governance's reservation when the request failed after admission. */
export function releaseOnFailure(governance: Governance): (run: GenerationRun, error: unknown) => Promise<void> {
  return (run, error) => failGeneration(governance, run.admission, error);
}

/**
 * The chat extensions: the verified chain (`chain` on the request or a model default; runs its own steps and answers)
 * and retrieval's `rag` / `few_shot`, which rewrite the messages before validation and routing.
 */
export function extensionsStage({ governance, retrieval, chain }: GenerationParts): GenerationStage {
  return {
    name: 'extensions',
    run(run) {
      const body = run.body;
      const chained = chain?.plan(body);
      // A model's chain default applies to chat only; an explicit `chain` elsewhere is the caller's mistake.
      if (chained !== undefined && run.endpoint !== 'chat' && 'chain' in (body as object)) {
        throw new InvalidRequestError("'chain' is only supported on /v1/chat/completions.", {
          param: 'chain',
          code: 'unsupported_parameter',
        });
      }
      if (chained !== undefined && run.endpoint === 'chat') {
        const { requestId, startedAt } = run.context;
        const context = { requestId, startedAt, governance, admission: run.admission };
        return chain!
          .serve(run.request, run.response, body as Record<string, unknown>, chained, context)
          .then(() => ANSWERED);
      }
      // Awaited only when the body uses an extension.
      if (!usesRetrievalExtensions(body)) return undefined;
      return prepareRetrievalChat(retrieval, run.endpoint, body).then((prepared) => {
        run.rag = prepared;
        if (prepared !== undefined) run.body = prepared.body;
      });
    },
  };
}

/**
 * Stands in for the extensions when retrieval is off and no model has a chain default: three property checks, and
 * only a body that asks for an extension goes through it (for the same 400 the extension would give).
 */
export function extensionsGuardStage(extensions: GenerationStage): GenerationStage {
  return {
    name: 'extensions-guard',
    run(run) {
      const body = run.body;
      if (typeof body !== 'object' || body === null || !('chain' in body || 'rag' in body || 'few_shot' in body))
        return undefined;
      return extensions.run(run);
    },
  };
}

/** Validates the body for its endpoint (zod, OpenAI's words) and plans the route (model / alias / `auto` → pools). */
export function planStage(runtime: RouterRuntime): GenerationStage {
  const { planner, metrics } = runtime;
  const blockTokens = runtime.config.scheduling.prefixBlockTokens;
  return {
    name: 'plan',
    run(run) {
      const validated = validateRequest(run.endpoint, run.body, blockTokens);
      run.validated = validated;
      run.validatedAt = performance.now();
      metrics.stage.validate.observe((run.validatedAt - run.timer.startedAt) / 1000);
      run.plan = planRequest(planner, validated);
      run.context.model = run.plan.requested;
      run.context.stream = validated.body.stream === true;
      return undefined;
    },
  };
}

/** Governance's response cache: a hit is answered here (JSON or replayed SSE). */
export function cacheStage(governance: Governance): GenerationStage {
  return {
    name: 'cache',
    run(run) {
      // Only a hit is a promise: awaiting the plain `false` would still cost a microtask hop per request.
      const cached = serveFromCache(governance, run.admission, run.response, run.validated!.body);
      if (cached === false) return undefined;
      return cached.then((hit) => (hit ? ANSWERED : undefined));
    },
  };
}

/**
 * Runs the request along its plan (router/request/run-request.ts): scheduling, retries, failover, spill-over.
 * `clientText`: the client's JSON text may go upstream as it came when no stage replaced the body. Off with
 * governance, whose guardrails may change a body in place.
 */
export function dispatchStage(runtime: RouterRuntime, clientText: boolean): GenerationStage {
  const { dispatcher, metrics } = runtime;
  return {
    name: 'dispatch',
    async run(run) {
      const { context, timer } = run;
      const validated = run.validated!;
      const plan = run.plan!;
      const sessionHeader = run.request.headers['x-session-id'];
      const sessionKey = typeof sessionHeader === 'string' ? sessionHeader : (validated.body.user ?? undefined);
      const { signal, dispose } = requestSignal(run.response, plan.timeouts.totalMs);
      run.dispose = dispose;
      const traceparent = traceparentOf(context.trace);
      const carrier = run.request as BodyCarrier;
      // The body as the client sent it: the same object from reading to validation.
      const unchanged = clientText && validated.body === carrier.body;
      run.input = requestInput(validated, plan, {
        requestId: context.requestId,
        traceparent,
        sessionKey,
        signal,
        timer,
        bodyText: unchanged ? carrier.bodyText : undefined,
      });
      const result = await runRequest(dispatcher, run.input);
      run.result = result;
      metrics.stage.route.observe(((timer.dispatchedAt ?? run.validatedAt) - run.validatedAt) / 1000);
      metrics.stage.upstream_first_byte.observe(timer.upstreamMs / 1000);
      context.routeReason = result.lease.reasons.at(-1) ?? 'primary';
    },
  };
}

/**
 * Sends the answer: JSON (output guardrails and the cost header first, citations attached), or the SSE relay
 * (mid-stream continuation, guardrail hold-back, citation and cost trailers). Governance and retrieval hooks are
 * wired in only when they are on.
 */
export function respondStage({ runtime, governance, retrieval }: GenerationParts): GenerationStage {
  const { dispatcher, metrics, config } = runtime;
  const policy = config.streaming.onMidStreamFailure;
  const maxContinuations = Math.max(0, config.retries.maxAttempts - 1);
  const ragOn = retrieval !== undefined;
  return {
    name: 'respond',
    run(run) {
      const result = run.result!;
      const { context, timer, response } = run;
      const tier = run.plan!.tier;
      if (!result.streamed) {
        const lease = result.lease;
        // Output guardrails and the price (cost header) before the body is serialised; settled in accounting.
        const governed = governance
          ? finishBuffered(governance, run.admission, result.body, {
              pool: lease.entry.state.pool,
              backendId: lease.entry.state.id,
            })
          : undefined;
        run.governed = governed;
        if (ragOn) attachCitations(result.body, run.rag);
        // Untouched answers (no governance, no citations) go out as the upstream's own text.
        const raw = governance || run.rag ? undefined : (result.body as Record<symbol, unknown>)[RAW_JSON];
        const payload = typeof raw === 'string' ? raw : JSON.stringify(result.body);
        lease.finish('success');
        run.served = lease;
        run.usage = result.body['usage'];
        context.answer = result.body;
        const headers = routeHeaders(lease, timer, context.requestId, tier);
        metrics.stage.overhead.observe(Number(headers[HEADER_OVERHEAD]) / 1000);
        response.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(payload),
          ...headers,
          ...governed?.headers,
        });
        response.end(payload);
        return undefined;
      }
      const headers = routeHeaders(result.lease, timer, context.requestId, tier);
      metrics.stage.overhead.observe(Number(headers[HEADER_OVERHEAD]) / 1000);
      const body = run.validated!.body;
      const options = body.stream_options as { include_usage?: boolean | null } | null | undefined;
      const governed = governance ? relayHooks(governance, run.admission) : undefined;
      const hooks = ragOn ? withCitationTrailer(governed, run.rag) : governed;
      run.hooks = hooks;
      return relayStream({
        governance: hooks,
        response,
        headers,
        start: result,
        dispatcher,
        input: run.input!,
        clientWantsUsage: options?.include_usage === true,
        policy,
        maxContinuations,
        metrics,
        timer,
      }).then((outcome) => {
        context.routeReason = outcome.lease.reasons.at(-1) ?? context.routeReason;
        if (outcome.ending === 'error_event') context.statusOverride = 'stream_error';
        if (outcome.ending === 'client_closed') context.statusOverride = 'client_closed';
        run.served = outcome.lease;
        run.usage = outcome.usage;
        run.ending = outcome.ending;
        if (outcome.answer) context.streamedAnswer = outcome.answer;
      });
    },
  };
}

/** Token counters, the request log's usage and backend; with governance, the budget settle once the answer is out. */
export function accountingStage({ runtime, governance }: GenerationParts): GenerationStage {
  const tokens = labelCache((model, kind) => runtime.metrics.tokens.labels({ model, kind }));
  function account(run: GenerationRun): Lease {
    const lease = run.served!;
    recordUsage(tokens, lease.step.model.name, run.usage);
    run.context.usage = run.usage;
    run.context.backend = lease.entry.state.id;
    return lease;
  }
  if (!governance) {
    return {
      name: 'accounting',
      run(run) {
        account(run);
        return undefined;
      },
    };
  }
  return {
    name: 'accounting',
    async run(run) {
      const lease = account(run);
      if (run.governed) {
        await run.governed.settle();
        return;
      }
      const served = { pool: lease.entry.state.pool, backendId: lease.entry.state.id };
      await run.hooks?.finalize(run.usage as Record<string, unknown> | undefined, served, run.ending ?? 'ok');
    },
  };
}

function recordUsage(
  tokens: (model: string, kind: string) => { inc(value: number): void },
  model: string,
  usage: unknown,
): void {
  if (!usage || typeof usage !== 'object') return;
  const { prompt_tokens: prompt, completion_tokens: completion } = usage as Record<string, unknown>;
  if (typeof prompt === 'number') tokens(model, 'prompt').inc(prompt);
  if (typeof completion === 'number') tokens(model, 'completion').inc(completion);
}
