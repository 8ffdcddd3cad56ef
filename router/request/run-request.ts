// The one way to run one request against the backends: validate the body for its endpoint, plan the route, and
// dispatch it (scheduling, retries, failover, spill-over, escalation: routing/dispatcher.ts). Every caller uses it —
// the chat and completions pipeline (routes/pipeline.ts), /v1/embeddings, the Batch API (batch/adapters.ts), the
// chain's model calls (chain/steps.ts) and the stream relay's continuation on another backend (streaming/relay.ts) —
// so a request is shaped for the dispatcher in one place.
import { ChatCompletionRequest, CompletionRequest, EmbeddingRequest, parseBody } from '../../core/openai-schemas.ts';
import { toSwitchyardError } from '../../core/errors.ts';
import type { Endpoint } from '../backends/contracts.ts';
import type { DispatchInput, DispatchResult, Dispatcher } from '../routing/dispatcher.ts';
import type { RoutePlan, RoutePlanner } from '../routing/plan.ts';
import { chatPromptFeatures, completionPromptFeatures, type PromptFeatures } from '../routing/prompt.ts';
import type { RequestTimer } from '../routing/upstream-body.ts';
import type { CancelSignal } from '../resilience/cancellation.ts';

export type ValidatedBody<E extends Endpoint> = E extends 'chat'
  ? ChatCompletionRequest
  : E extends 'completions'
    ? CompletionRequest
    : EmbeddingRequest;

export interface ValidatedRequest<E extends Endpoint = Endpoint> {
  endpoint: E;
  body: ValidatedBody<E>;
  /** ≈ prompt tokens and prefix block hashes, for scheduling. */
  features: PromptFeatures;
}

/** The body checked against the endpoint's OpenAI schema (400 naming the parameter), and its prompt features. */
export function validateRequest<E extends Endpoint>(
  endpoint: E,
  rawBody: unknown,
  blockTokens: number,
): ValidatedRequest<E> {
  if (endpoint === 'chat') {
    const chat = parseBody(ChatCompletionRequest, rawBody);
    return {
      endpoint,
      body: chat as ValidatedBody<E>,
      features: chatPromptFeatures(chat.messages, chat.tools, blockTokens),
    };
  }
  if (endpoint === 'completions') {
    const completion = parseBody(CompletionRequest, rawBody);
    return {
      endpoint,
      body: completion as ValidatedBody<E>,
      features: completionPromptFeatures(completion.prompt, blockTokens),
    };
  }
  const embedding = parseBody(EmbeddingRequest, rawBody);
  // Embeddings share no prefix cache: the token count alone schedules them.
  const { promptTokens } = completionPromptFeatures(embedding.input, blockTokens);
  return { endpoint, body: embedding as ValidatedBody<E>, features: { promptTokens, prefixBlockHashes: [] } };
}

/** The route for a validated request: model / alias / adapter → pools in order; `auto` classifies the generation body. */
export function planRequest(planner: RoutePlanner, request: ValidatedRequest): RoutePlan {
  const body = request.body as { model: string };
  return planner.plan(
    body.model,
    request.endpoint === 'embeddings' ? {} : (body as Parameters<RoutePlanner['plan']>[1]),
  );
}

/** Who asks and how long they wait: the request's identity, cancellation and clock. */
export interface RunContext {
  requestId: string;
  /** W3C traceparent for the upstream requests, when the request is traced. */
  traceparent?: string | undefined;
  /** Session affinity key (x-session-id or the body's `user`). */
  sessionKey?: string | undefined;
  signal: CancelSignal;
  timer: RequestTimer;
  /** The client's JSON text of `request.body`, when no stage changed the body (see DispatchInput.bodyText). */
  bodyText?: string | undefined;
}

/** The dispatcher's input for a validated, planned request. */
export function requestInput(
  request: ValidatedRequest,
  plan: RoutePlan,
  run: RunContext,
  body: Readonly<Record<string, unknown>> = request.body,
): DispatchInput {
  const { requestId, traceparent, sessionKey } = run;
  return {
    endpoint: request.endpoint,
    body,
    plan,
    scheduling: {
      requestId,
      promptTokens: request.features.promptTokens,
      prefixBlockHashes: request.features.prefixBlockHashes,
      ...(sessionKey ? { sessionKey } : {}),
    },
    requestId,
    ...(traceparent === undefined ? {} : { traceparent }),
    signal: run.signal,
    timer: run.timer,
    bodyText: body === request.body ? run.bodyText : undefined,
  };
}

/** Runs one request along its plan; every failure comes out as a SwitchyardError. */
export function runRequest(dispatcher: Dispatcher, input: DispatchInput): Promise<DispatchResult> {
  // Not async: an async wrapper is one more promise and microtask hop on every request.
  return dispatcher.dispatch(input).then(undefined, rethrowTyped);
}

function rethrowTyped(error: unknown): never {
  throw toSwitchyardError(error);
}

/**
 * Continues a broken stream on another backend: the same request re-issued with the text the client already has as
 * an assistant prefix, the backends that failed excluded.
 */
export function continueRequest(
  dispatcher: Dispatcher,
  input: DispatchInput,
  continuation: { prefix: string; emittedTokens: number },
  exclude: ReadonlySet<string>,
): Promise<DispatchResult> {
  return runRequest(dispatcher, { ...input, continuation, exclude });
}
