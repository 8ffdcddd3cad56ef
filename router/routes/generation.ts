// POST /v1/chat/completions and /v1/completions: validate → plan the route → dispatch → answer (JSON or SSE relay),
// with the response headers that say what happened and the router's own overhead measured per stage.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ChatCompletionRequest, CompletionRequest, parseBody } from '../../core/openai-schemas.ts';
import { RAW_JSON, type Endpoint } from '../backends/contracts.ts';
import { ClientClosedError, InvalidRequestError, UpstreamTimeoutError, toSwitchyardError } from '../../core/errors.ts';
import type { DispatchInput, DispatchResult, Lease } from '../routing/dispatcher.ts';
import { chatPromptFeatures, completionPromptFeatures, type PromptFeatures } from '../routing/prompt.ts';
import { createRequestTimer, overheadMs, type RequestTimer } from '../routing/upstream-body.ts';
import type { RouterRuntime } from '../runtime/runtime.ts';
import { labelCache } from '../metrics.ts';
import { relayStream } from '../streaming/relay.ts';
import type { Governance } from '../governance/governance.ts';
import {
  admitGeneration,
  failGeneration,
  finishBuffered,
  relayHooks,
  serveFromCache,
} from '../governance/router-adapter.ts';
import { requestContext } from './context.ts';
import { traceparentOf } from '../observability/trace-context.ts';
import { Cancellation, type CancelSignal } from '../resilience/cancellation.ts';
import type { ChainHook } from '../chain/mount.ts';
import { attachCitations, prepareRetrievalChat, usesRetrievalExtensions, withCitationTrailer, type RetrievalChat } from '../rag/chat.ts';

export const HEADER_BACKEND = 'x-switchyard-backend';
export const HEADER_ROUTE = 'x-switchyard-route';
export const HEADER_MODEL = 'x-switchyard-model';
export const HEADER_OVERHEAD = 'x-switchyard-overhead-ms';

export const HEADER_TIER = 'x-switchyard-tier';

export function routeHeaders(lease: Lease, timer: RequestTimer, requestId: string, tier?: number): Record<string, string> {
  const headers: Record<string, string> = {
    'x-request-id': requestId,
    [HEADER_BACKEND]: lease.entry.state.id,
    [HEADER_ROUTE]: lease.reasons.join(','),
    [HEADER_MODEL]: lease.step.model.name,
    [HEADER_OVERHEAD]: overheadMs(timer).toFixed(3),
  };
  if (tier !== undefined) headers[HEADER_TIER] = String(tier);
  return headers;
}

/** Aborts the request's upstream work when the client disconnects or the total deadline passes. */
export function requestSignal(response: ServerResponse, totalMs: number): { signal: CancelSignal; dispose(): void } {
  const cancellation = new Cancellation();
  const deadline = setTimeout(() => cancellation.abort(new UpstreamTimeoutError('total', totalMs)), totalMs);
  // Inline listener: no named closure per request.
  response.on('close', () => {
    if (!response.writableFinished) cancellation.abort(new ClientClosedError());
  });
  return {
    signal: cancellation,
    dispose() {
      clearTimeout(deadline);
    },
  };
}

export type GenerationHandler = (request: IncomingMessage, response: ServerResponse, requestBody: unknown) => Promise<void>;

export function createGenerationHandler(
  endpoint: Exclude<Endpoint, 'embeddings'>,
  runtime: RouterRuntime,
  governance?: Governance,
  retrieval?: RetrievalChat,
  chain?: ChainHook,
): GenerationHandler {
  const { planner, dispatcher, metrics, config } = runtime;
  const blockTokens = config.scheduling.prefixBlockTokens;
  const policy = config.streaming.onMidStreamFailure;

  /** `requestBody` is the parsed JSON body (Express's `request.body`, or the hot path's own read). */
  return async function handleGeneration(request: IncomingMessage, response: ServerResponse, requestBody: unknown): Promise<void> {
    const context = requestContext(response);
    // Governance (when on): prompt render, output-length control, input guardrails, limits, budget, cache lookup.
    const admission = governance
      ? await admitGeneration(governance, endpoint, request, requestBody, response, context.requestId, context.startedAt)
      : undefined;
    try {
      await serve(request, response, requestBody, admission);
    } catch (error) {
      await failGeneration(governance, admission, error);
      throw error;
    }
  };

  async function serve(
    request: IncomingMessage,
    response: ServerResponse,
    requestBody: unknown,
    admission: Awaited<ReturnType<typeof admitGeneration>>,
  ): Promise<void> {
    const context = requestContext(response);
    const timer = createRequestTimer(context.startedAt);
    const extended = admission?.body ?? requestBody;
    // The verified chain (router/chain): `chain` on the request or a model default; runs its own steps.
    const chained = chain?.plan(extended);
    // A model's chain default applies to chat only; an explicit `chain` elsewhere is the caller's mistake.
    if (chained !== undefined && endpoint !== 'chat' && 'chain' in (extended as object)) {
      throw new InvalidRequestError("'chain' is only supported on /v1/chat/completions.", { param: 'chain', code: 'unsupported_parameter' });
    }
    if (chained !== undefined && endpoint === 'chat') {
      const { requestId, startedAt } = context;
      await chain!.serve(request, response, extended as Record<string, unknown>, chained, { requestId, startedAt, governance, admission });
      return;
    }
    // Retrieval (router/rag): the `rag` / `few_shot` extensions rewrite the messages before validation and routing.
    // Awaited only when the body uses an extension: each await is a microtask hop on every request.
    const rag = usesRetrievalExtensions(extended) ? await prepareRetrievalChat(retrieval, endpoint, extended) : undefined;
    const rawBody: unknown = rag?.body ?? admission?.body ?? requestBody;
    let body: ChatCompletionRequest | CompletionRequest;
    let features: PromptFeatures;
    if (endpoint === 'chat') {
      const chat = parseBody(ChatCompletionRequest, rawBody);
      features = chatPromptFeatures(chat.messages, chat.tools, blockTokens);
      body = chat;
    } else {
      const completion = parseBody(CompletionRequest, rawBody);
      features = completionPromptFeatures(completion.prompt, blockTokens);
      body = completion;
    }
    const validatedAt = performance.now();
    metrics.stage.validate.observe((validatedAt - timer.startedAt) / 1000);
    const plan = planner.plan(body.model, body as Parameters<typeof planner.plan>[1]);
    context.model = plan.requested;
    // Only a cache hit is a promise: awaiting the plain `false` would still cost a microtask hop per request.
    const cached = serveFromCache(governance, admission, response, body);
    if (cached !== false && (await cached)) return;
    const sessionHeader = request.headers['x-session-id'];
    const sessionKey = typeof sessionHeader === 'string' ? sessionHeader : (body.user ?? undefined);
    const { signal, dispose } = requestSignal(response, plan.timeouts.totalMs);
    const input: DispatchInput = {
      endpoint,
      body,
      plan,
      scheduling: {
        requestId: context.requestId,
        promptTokens: features.promptTokens,
        prefixBlockHashes: features.prefixBlockHashes,
        ...(sessionKey ? { sessionKey } : {}),
      },
      requestId: context.requestId,
      traceparent: traceparentOf(context.trace),
      signal,
      timer,
    };
    let result: DispatchResult;
    try {
      result = await dispatcher.dispatch(input);
    } catch (error) {
      dispose();
      throw toSwitchyardError(error);
    }
    metrics.stage.route.observe(((timer.dispatchedAt ?? validatedAt) - validatedAt) / 1000);
    metrics.stage.upstream_first_byte.observe(timer.upstreamMs / 1000);
    context.routeReason = result.lease.reasons.at(-1) ?? 'primary';
    try {
      if (!result.streamed) {
        const served = { pool: result.lease.entry.state.pool, backendId: result.lease.entry.state.id };
        // Output guardrails and the price (cost header) before the body is serialised; settle once it is sent.
        const governed = finishBuffered(governance, admission, result.body, served);
        attachCitations(result.body, rag);
        // Untouched answers (no governance, no citations) go out as the upstream's own text.
        const raw = governance || rag ? undefined : (result.body as Record<symbol, unknown>)[RAW_JSON];
        const payload = typeof raw === 'string' ? raw : JSON.stringify(result.body);
        result.lease.finish('success');
        recordUsage(runtime, result.lease.step.model.name, result.body.usage);
        context.usage = result.body.usage;
        context.backend = result.lease.entry.state.id;
        const headers = routeHeaders(result.lease, timer, context.requestId, plan.tier);
        metrics.stage.overhead.observe(Number(headers[HEADER_OVERHEAD]) / 1000);
        response.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(payload),
          ...headers,
          ...governed.headers,
        });
        response.end(payload);
        if (governance) await governed.settle();
        return;
      }
      const headers = routeHeaders(result.lease, timer, context.requestId, plan.tier);
      metrics.stage.overhead.observe(Number(headers[HEADER_OVERHEAD]) / 1000);
      const options = body.stream_options as { include_usage?: boolean | null } | null | undefined;
      const hooks = withCitationTrailer(relayHooks(governance, admission), rag);
      const outcome = await relayStream({
        governance: hooks,
        response,
        headers,
        start: result,
        dispatcher,
        input,
        clientWantsUsage: options?.include_usage === true,
        policy,
        maxContinuations: Math.max(0, config.retries.maxAttempts - 1),
        metrics,
        timer,
      });
      context.routeReason = outcome.lease.reasons.at(-1) ?? context.routeReason;
      if (outcome.ending === 'error_event') context.statusOverride = 'stream_error';
      if (outcome.ending === 'client_closed') context.statusOverride = 'client_closed';
      recordUsage(runtime, outcome.lease.step.model.name, outcome.usage);
      context.usage = outcome.usage;
      context.backend = outcome.lease.entry.state.id;
      await hooks?.finalize(outcome.usage, { pool: outcome.lease.entry.state.pool, backendId: outcome.lease.entry.state.id }, outcome.ending);
    } finally {
      dispose();
    }
  }
}

const tokenCounters = new WeakMap<RouterRuntime, (model: string, kind: string) => { inc(value: number): void }>();

function recordUsage(runtime: RouterRuntime, model: string, usage: unknown): void {
  if (!usage || typeof usage !== 'object') return;
  let counter = tokenCounters.get(runtime);
  if (!counter) {
    counter = labelCache((name, kind) => runtime.metrics.tokens.labels({ model: name, kind }));
    tokenCounters.set(runtime, counter);
  }
  const { prompt_tokens: prompt, completion_tokens: completion } = usage as Record<string, unknown>;
  if (typeof prompt === 'number') counter(model, 'prompt').inc(prompt);
  if (typeof completion === 'number') counter(model, 'completion').inc(completion);
}
