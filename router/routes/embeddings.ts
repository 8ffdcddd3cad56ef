// POST /v1/embeddings: validated and forwarded along the model's route (retries and failover included) to a backend
// that serves embeddings; the answer is passed back as it came.
import { Buffer } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidRequestError, UpstreamError } from '../../core/errors.ts';
import type { RouterRuntime } from '../runtime/runtime.ts';
import { requestContext } from './context.ts';
import { traceparentOf } from '../observability/trace-context.ts';
import { requestSignal } from '../resilience/request-signal.ts';
import { routeHeaders } from '../routing/response-headers.ts';
import { createRequestTimer } from '../routing/upstream-body.ts';
import { planRequest, requestInput, runRequest, validateRequest } from '../request/run-request.ts';

export function createEmbeddingsHandler(runtime: RouterRuntime) {
  const blockTokens = runtime.config.scheduling.prefixBlockTokens;
  return async function handleEmbeddings(
    _request: IncomingMessage,
    response: ServerResponse,
    requestBody: unknown,
  ): Promise<void> {
    const context = requestContext(response);
    const timer = createRequestTimer(context.startedAt);
    const validated = validateRequest('embeddings', requestBody, blockTokens);
    const plan = planRequest(runtime.planner, validated);
    context.model = plan.requested;
    const { signal, dispose } = requestSignal(response, plan.timeouts.totalMs);
    try {
      const input = requestInput(validated, plan, {
        requestId: context.requestId,
        traceparent: traceparentOf(context.trace),
        signal,
        timer,
      });
      const result = await runRequest(runtime.dispatcher, input).catch((error: unknown) => {
        throw notAnEmbeddingModel(error)
          ? new NotEmbeddingModelError(plan.requested, runtime.planner.embeddingModelHint(), error)
          : error;
      });
      if (result.streamed) throw new Error('embeddings cannot stream');
      result.lease.finish('success');
      context.routeReason = result.lease.reasons.at(-1) ?? 'primary';
      context.backend = result.lease.entry.state.id;
      const payload = JSON.stringify(result.body);
      response.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(payload),
        ...routeHeaders(result.lease, timer, context.requestId),
      });
      response.end(payload);
    } finally {
      dispose();
    }
  };
}

/**
 * A generative model's server has no /v1/embeddings (vLLM: 404 `{"detail":"Not Found"}` or 400 naming the
 * Embeddings API): the caller asked the wrong model, so it is a 400 about `model`, not an upstream failure.
 */
function notAnEmbeddingModel(error: unknown): boolean {
  if (!(error instanceof UpstreamError)) return false;
  const status = error.upstreamStatus;
  return status === 404 || status === 405 || status === 501 || (status === 400 && /embedding/i.test(error.message));
}

class NotEmbeddingModelError extends InvalidRequestError {
  constructor(model: string, embeddingModel: string | undefined, cause: unknown) {
    const instead =
      embeddingModel === undefined ? 'an embedding model' : `an embedding model such as \`${embeddingModel}\``;
    super(
      `The model \`${model}\` is a chat model: it serves /v1/chat/completions, not embeddings. Send ${instead} to /v1/embeddings.`,
      {
        param: 'model',
        code: 'model_not_supported',
        cause,
      },
    );
  }
}
