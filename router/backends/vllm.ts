// A vLLM (or any OpenAI-compatible engine's) replica over undici: one keep-alive connection pool per replica, the
// JSON body sent as it is, SSE parsed event by event. The simulator speaks the same protocol.
import { Buffer } from 'node:buffer';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import {
  RAW_JSON,
  type BackendRequest,
  type BackendResponse,
  type ChatBackend,
  type Endpoint,
  type StreamChunk,
} from './contracts.ts';
import { SseSplitter } from './sse.ts';
import { bufferedExchange, type BufferedExchange } from './buffered-exchange.ts';
import { streamedExchange, type PieceDecoder, type StreamedExchange } from './streamed-exchange.ts';
import { errorFromFailure, errorFromUpstreamStatus, readErrorBody } from './upstream-errors.ts';
import { type SwitchyardError, UpstreamError, UpstreamTimeoutError } from '../../core/errors.ts';

export const ENDPOINT_PATHS: Readonly<Record<Endpoint, string>> = {
  chat: '/v1/chat/completions',
  completions: '/v1/completions',
  embeddings: '/v1/embeddings',
};

export interface VllmBackendOptions {
  id: string;
  url: string;
  connectTimeoutMs: number;
  headers?: Readonly<Record<string, string>>;
  /** Connections kept per replica; vLLM batches, so many concurrent requests per replica are normal. */
  connections?: number;
  /** Injected for tests; defaults to an undici Pool on the replica's origin. */
  dispatcher?: Dispatcher;
  /** The engine behind the URL: llama-server speaks the same OpenAI protocol but exports other metrics. */
  kind?: 'vllm' | 'llamacpp';
}

export function createVllmBackend(options: VllmBackendOptions): ChatBackend {
  const origin = new URL(options.url);
  const basePath = origin.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
  const dispatcher =
    options.dispatcher ??
    new Pool(origin.origin, {
      connections: options.connections ?? 512,
      connect: { timeout: options.connectTimeoutMs },
      keepAliveTimeout: 30_000,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  const extraHeaders = options.headers ?? {};

  // Not async itself: each async layer is a promise and microtask hops on every request.
  function send(request: BackendRequest): Promise<BackendResponse> {
    // The TTFT limit bounds the attempt without an extra AbortController: a stream's headers and body (the first
    // token, or a stall mid-stream) by undici's own timers; a non-streamed answer, which vLLM sends only when it is
    // complete, as a whole by the buffered exchange's timer (see buffered-exchange.ts for why not undici's).
    const streamed = request.body['stream'] === true;
    const dispatchOptions: Dispatcher.DispatchOptions = {
      origin: origin.origin,
      path: basePath + ENDPOINT_PATHS[request.endpoint],
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-request-id': request.requestId,
        ...(request.traceparent ? { traceparent: request.traceparent } : {}),
        ...extraHeaders,
      },
      body: request.bodyText ?? JSON.stringify(request.body),
      headersTimeout: streamed ? request.ttftMs : 0,
      bodyTimeout: streamed ? request.ttftMs : 0,
    };
    return streamed ? sendStreamed(dispatchOptions, request) : sendBuffered(dispatchOptions, request);
  }

  /** A stream (see streamed-exchange.ts): an error status is read whole and thrown before any chunk is yielded. */
  async function sendStreamed(
    dispatchOptions: Dispatcher.DispatchOptions,
    request: BackendRequest,
  ): Promise<BackendResponse> {
    let exchange: StreamedExchange;
    try {
      exchange = await streamedExchange(dispatcher, dispatchOptions, request.signal, request.clock);
    } catch (error) {
      throw timeoutAware(options.id, error, request);
    }
    if (exchange.statusCode >= 400) {
      const pieces: Buffer[] = [];
      try {
        for await (const piece of exchange.body) pieces.push(piece);
      } catch (error) {
        throw timeoutAware(options.id, error, request);
      }
      throw errorFromUpstreamStatus(
        options.id,
        exchange.statusCode,
        Buffer.concat(pieces).toString('utf8'),
        headerReader(exchange.headers),
      );
    }
    // Early exit (client gone, failover): the iterator's return() aborts, closing the socket, so vLLM aborts too.
    return { streamed: true, chunks: exchange.decode(new SseChunkDecoder(options.id, request)) };
  }

  /** A non-streamed answer, read whole (see buffered-exchange.ts): the JSON object, or the error it maps to. */
  async function sendBuffered(
    dispatchOptions: Dispatcher.DispatchOptions,
    request: BackendRequest,
  ): Promise<BackendResponse> {
    let exchange: BufferedExchange;
    try {
      exchange = await bufferedExchange(dispatcher, dispatchOptions, request.signal, request.clock, request.ttftMs);
    } catch (error) {
      throw timeoutAware(options.id, error, request);
    }
    if (exchange.statusCode >= 400) {
      throw errorFromUpstreamStatus(options.id, exchange.statusCode, exchange.text, headerReader(exchange.headers));
    }
    let body: unknown;
    try {
      body = JSON.parse(exchange.text);
    } catch (error) {
      throw new UpstreamError(
        `Backend ${options.id} sent a malformed JSON body: ${(error as Error).message}`,
        exchange.statusCode,
        true,
        {
          backendId: options.id,
          cause: error,
        },
      );
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new UpstreamError(`Backend ${options.id} sent a non-object JSON body`, exchange.statusCode, true, {
        backendId: options.id,
      });
    }
    // The text as it came, so an answer nobody changes is forwarded without serialising it again.
    (body as Record<symbol, unknown>)[RAW_JSON] = exchange.text;
    return { streamed: false, body: body as Record<string, unknown> };
  }

  return {
    id: options.id,
    kind: options.kind ?? 'vllm',
    url: options.url,
    send,
    async close() {
      if (!options.dispatcher) await dispatcher.close();
    },
  };
}

/**
 * An SSE body as chunks, decoded in undici's data callback (streamed-exchange.ts): each event is split and parsed
 * as its piece arrives and goes straight to the waiting consumer.
 */
class SseChunkDecoder implements PieceDecoder<StreamChunk> {
  private readonly splitter = new SseSplitter();
  private finished = false;

  constructor(
    private readonly backendId: string,
    private readonly request: BackendRequest,
  ) {}

  push(piece: Buffer, out: StreamChunk[]): void {
    for (const data of this.splitter.push(piece)) this.take(data, out);
  }

  end(out: StreamChunk[]): void {
    for (const data of this.splitter.end()) this.take(data, out);
    // The body ended without [DONE]: a dropped connection, not a finished stream.
    if (!this.finished) {
      throw new UpstreamError(`Backend ${this.backendId} closed the stream before [DONE]`, 200, true, {
        backendId: this.backendId,
      });
    }
  }

  mapError(error: unknown): unknown {
    return timeoutAware(this.backendId, error, this.request);
  }

  private take(data: string, out: StreamChunk[]): void {
    // After [DONE] the rest of the body is read and ignored (the server closes it at once): stopping early would
    // destroy the socket and throw away a keep-alive connection.
    if (this.finished) return;
    if (data === '[DONE]') this.finished = true;
    else out.push(parseChunk(this.backendId, data));
  }
}

function headerReader(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): (name: string) => string | null {
  return (name) => {
    const value = headers[name];
    return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
  };
}

/** undici's header/body timeouts → a TTFT timeout naming the limit; everything else as errorFromFailure maps it. */
function timeoutAware(backendId: string, error: unknown, request: BackendRequest): SwitchyardError {
  const code = (error as { code?: unknown } | null)?.code;
  if (!request.signal.aborted && (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT')) {
    return new UpstreamTimeoutError('ttft', request.ttftMs, { cause: error });
  }
  return errorFromFailure(backendId, error, request.signal);
}

export function parseChunk(backendId: string, data: string): StreamChunk {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    throw new UpstreamError(`Backend ${backendId} sent a malformed stream event`, 200, true, { backendId });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UpstreamError(`Backend ${backendId} sent a non-object stream event`, 200, true, { backendId });
  }
  const record = parsed as Record<string, unknown>;
  (record as Record<symbol, unknown>)[RAW_JSON] = data;
  if ('error' in record && record['error']) {
    // The engine answered with an error event (llama-server ends a stream whose output its parser rejects this way):
    // the replica is alive and said what went wrong, so the client gets that error, not a retry elsewhere.
    // Continuation is for a dropped connection or a dead replica.
    const error = readErrorBody(record);
    const inner = record['error'] as Record<string, unknown>;
    const code = typeof inner['code'] === 'number' ? inner['code'] : Number(error?.code ?? NaN);
    const clientFault = code >= 400 && code < 500;
    throw new UpstreamError(`Backend ${backendId} stream error: ${error?.message ?? 'unknown'}`, 200, false, {
      backendId,
      status: clientFault ? code : 502,
      type: clientFault ? (error?.type ?? 'invalid_request_error') : 'upstream_error',
      code: 'engine_stream_error',
      // The engine's own words about the answer it refused (no backend id or address in them).
      publicMessage: error?.message ?? 'The model server ended the stream with an error.',
    });
  }
  return record;
}
