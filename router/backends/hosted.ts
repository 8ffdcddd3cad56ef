// A hosted OpenAI-compatible API through the official `openai` SDK (baseURL + apiKey; retries are the router's job,
// so the SDK's own are off). The router model name is mapped to the upstream one by the dispatcher.
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { BackendRequest, BackendResponse, ChatBackend, StreamChunk } from './contracts.ts';
import { attemptSignal } from './first-chunk-timeout.ts';
import type { AttemptSignal } from './first-chunk-timeout.ts';
import { errorFromFailure, errorFromUpstreamStatus } from './upstream-errors.ts';
import { type SwitchyardError, UpstreamError, UpstreamTimeoutError } from '../../core/errors.ts';

export interface HostedBackendOptions {
  id: string;
  baseURL: string;
  apiKey: string;
  headers?: Readonly<Record<string, string>>;
  /** Injected for tests (the SDK accepts any fetch). */
  fetch?: typeof fetch;
}

type ChatParams = OpenAI.Chat.ChatCompletionCreateParams;
type CompletionParams = OpenAI.CompletionCreateParams;
type EmbeddingParams = OpenAI.EmbeddingCreateParams;

export function createHostedBackend(options: HostedBackendOptions): ChatBackend {
  const client = new OpenAI({
    apiKey: options.apiKey,
    baseURL: options.baseURL,
    maxRetries: 0,
    timeout: 10 * 60_000,
    defaultHeaders: { ...options.headers },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });

  async function send(request: BackendRequest): Promise<BackendResponse> {
    const streamed = request.body['stream'] === true;
    // Non-streamed answers arrive whole, so for them the TTFT limit bounds the whole attempt.
    const attempt = attemptSignal(request.signal, request.ttftMs);
    const requestOptions = {
      signal: attempt.signal,
      headers: {
        'x-request-id': request.requestId,
        ...(request.traceparent ? { traceparent: request.traceparent } : {}),
      },
    };
    // The body is passed through as the caller sent it (unknown fields included); the SDK only serialises it.
    try {
      let result: unknown;
      if (request.endpoint === 'chat') {
        result = await client.chat.completions.create(request.body as unknown as ChatParams, requestOptions);
      } else if (request.endpoint === 'completions') {
        result = await client.completions.create(request.body as unknown as CompletionParams, requestOptions);
      } else {
        result = await client.embeddings.create(request.body as unknown as EmbeddingParams, requestOptions);
      }
      if (streamed) {
        return { streamed: true, chunks: streamChunks(options.id, result as AsyncIterable<StreamChunk>, attempt) };
      }
      attempt.dispose();
      return { streamed: false, body: result as Record<string, unknown> };
    } catch (error) {
      attempt.dispose();
      throw mapSdkError(options.id, error, attempt.signal);
    }
  }

  return {
    id: options.id,
    kind: 'openai',
    url: options.baseURL,
    send,
    async close() {},
  };
}

async function* streamChunks(
  backendId: string,
  stream: AsyncIterable<StreamChunk>,
  attempt: AttemptSignal,
): AsyncGenerator<StreamChunk> {
  try {
    // The SDK ends iteration quietly on abort and on a body that ends without [DONE]; a complete stream always
    // carried a finish_reason, so its absence (or an abort) is reported as the failure it is.
    let finished = false;
    for await (const chunk of stream) {
      attempt.firstChunkArrived();
      if (!finished && Array.isArray(chunk['choices'])) {
        finished = (chunk['choices'] as Array<{ finish_reason?: unknown }>).some((choice) =>
          Boolean(choice.finish_reason),
        );
      }
      yield chunk;
    }
    if (attempt.signal.aborted) throw errorFromFailure(backendId, attempt.signal.reason, attempt.signal);
    if (!finished)
      throw new UpstreamError(`Backend ${backendId} ended the stream before it finished`, 200, true, { backendId });
  } catch (error) {
    throw mapSdkError(backendId, error, attempt.signal);
  } finally {
    attempt.dispose();
  }
}

/** SDK errors → the router's tree, with the same status rules as the vLLM backend. */
export function mapSdkError(backendId: string, error: unknown, signal: AbortSignal): SwitchyardError {
  if (error instanceof APIUserAbortError || signal.aborted) return errorFromFailure(backendId, error, signal);
  if (error instanceof APIConnectionTimeoutError) return new UpstreamTimeoutError('total', 0, { cause: error });
  if (error instanceof APIConnectionError) {
    return new UpstreamError(`Backend ${backendId} unreachable: ${error.message}`, 0, true, {
      backendId,
      cause: error,
    });
  }
  if (error instanceof APIError && typeof error.status === 'number') {
    const headers = error.headers;
    return errorFromUpstreamStatus(
      backendId,
      error.status,
      JSON.stringify({ error: error.error ?? { message: error.message } }),
      (name) => headers?.get(name) ?? null,
    );
  }
  if (error instanceof APIError) {
    // A mid-stream `error` event: the SDK throws APIError without a status.
    return new UpstreamError(`Backend ${backendId} stream error: ${error.message}`, 200, true, {
      backendId,
      cause: error,
    });
  }
  return errorFromFailure(backendId, error, signal);
}
