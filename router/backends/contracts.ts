// Types-only contract of an upstream backend: a vLLM replica (undici) or any hosted OpenAI-compatible API (the
// `openai` SDK). Both pass router/backends/conformance.ts. Errors always come out as SwitchyardError subclasses
// (UpstreamError, UpstreamTimeoutError, ClientClosedError), so retry and failover logic sees one vocabulary.
import type { BackendKind } from '../scheduling/contracts.ts';
import type { CancelSignal } from '../resilience/cancellation.ts';

export type Endpoint = 'chat' | 'completions' | 'embeddings';

export interface BackendRequest {
  endpoint: Endpoint;
  /** The JSON body to send; `model` is already the upstream model name. `stream` decides the response kind. */
  body: Readonly<Record<string, unknown>>;
  /**
   * `body` as JSON text, when the router has it as the client sent it (routing/upstream-body.ts): HTTP backends send
   * it instead of serialising `body` again. Whoever changes `body` drops it.
   */
  bodyText?: string | undefined;
  requestId: string;
  /** W3C traceparent for the upstream request (router/observability/trace-context.ts). */
  traceparent?: string;
  /**
   * Aborted by the router on client disconnect or deadline; `signal.reason` is the SwitchyardError to surface.
   * The router passes a lightweight Cancellation (router/resilience/cancellation.ts); an AbortSignal works too.
   */
  signal: CancelSignal;
  /** For streams: the first event must arrive within this many ms. */
  ttftMs: number;
  /** Stamped by the exchange, so the router's own overhead excludes only the upstream's time (see UpstreamClock). */
  clock?: UpstreamClock;
}

/**
 * The upstream's share of an attempt: from the request handed to a connection to the first body bytes of a stream
 * (or the complete body of a JSON answer). Serialising the body, waiting for a free connection and parsing the
 * answer are the router's own time.
 */
export interface UpstreamClock {
  sentAt: number | undefined;
  answeredAt: number | undefined;
}

/** One parsed SSE `data:` payload (a chat.completion.chunk or text_completion object). */
export type StreamChunk = Record<string, unknown>;

/**
 * Backends that parsed a stream chunk or a non-streamed body from text may keep that text under this key, so a
 * route that changes nothing can forward it without serialising again (JSON.stringify skips symbol keys). Whoever
 * changes the object must delete the key.
 */
export const RAW_JSON: unique symbol = Symbol('raw-json');

export interface BufferedResponse {
  streamed: false;
  body: Record<string, unknown>;
}

export interface StreamedResponse {
  streamed: true;
  /** Ends after the upstream `[DONE]`; throws a SwitchyardError if the stream breaks or carries an error event. */
  chunks: AsyncIterable<StreamChunk>;
}

export type BackendResponse = BufferedResponse | StreamedResponse;

export interface ChatBackend {
  readonly id: string;
  readonly kind: BackendKind;
  readonly url: string;
  /** Resolves once the upstream accepted the request (headers for streams, whole body otherwise). */
  send(request: BackendRequest): Promise<BackendResponse>;
  close(): Promise<void>;
}
