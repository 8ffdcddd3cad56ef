// Maps what an upstream said (HTTP status, headers, error body) or how it failed (socket errors, aborts) onto the
// error tree, with openai-node's retry rules: x-should-retry wins; else 408, 409, 429 and 5xx are retryable.
import { ClientClosedError, SwitchyardError, UpstreamError, UpstreamTimeoutError } from '../../core/errors.ts';
import type { CancelSignal } from '../resilience/cancellation.ts';

export type HeaderLookup = (name: string) => string | null | undefined;

/** retry-after-ms (float ms) first, then retry-after (seconds or an HTTP date); null when absent or unparseable. */
export function parseRetryAfterMs(header: HeaderLookup, now: number = Date.now()): number | null {
  const milliseconds = header('retry-after-ms');
  if (milliseconds) {
    const value = Number.parseFloat(milliseconds);
    if (!Number.isNaN(value)) return Math.max(0, value);
  }
  const retryAfter = header('retry-after');
  if (retryAfter) {
    const seconds = Number.parseFloat(retryAfter);
    if (!Number.isNaN(seconds)) return Math.max(0, seconds * 1000);
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  return null;
}

export function isRetryableStatus(status: number, header?: HeaderLookup): boolean {
  const explicit = header?.('x-should-retry');
  if (explicit === 'true') return true;
  if (explicit === 'false') return false;
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

interface UpstreamErrorBody {
  message: string;
  type: string | null;
  code: string | null;
  param: string | null;
}

/** Reads `{error:{message,type,code,param}}` (OpenAI, vLLM ≥0.6) or `{object:"error",message,...}` (older vLLM). */
export function readErrorBody(value: unknown): UpstreamErrorBody | null {
  if (value === null || typeof value !== 'object') return null;
  const record = value as Record<string, unknown>;
  const inner =
    typeof record['error'] === 'object' && record['error'] !== null
      ? (record['error'] as Record<string, unknown>)
      : record;
  if (typeof inner['message'] !== 'string') return null;
  const text = (key: string): string | null => {
    const item = inner[key];
    return typeof item === 'string' ? item : typeof item === 'number' ? String(item) : null;
  };
  const type = text('type');
  const code = text('code');
  // llama-server names a prompt beyond the slot's context `exceed_context_size_error`; OpenAI calls the same thing
  // an invalid_request_error with code context_length_exceeded, which is what SDK users match on.
  if (type === 'exceed_context_size_error') {
    return {
      message: inner['message'],
      type: 'invalid_request_error',
      code: 'context_length_exceeded',
      param: 'messages',
    };
  }
  return {
    message: inner['message'],
    // vLLM names its error types after Python exceptions ("BadRequestError") and repeats the HTTP status as a numeric
    // code; clients that switch on `error.type` / `error.code` expect OpenAI's words ("invalid_request_error") instead.
    type: type !== null && /^[A-Z][A-Za-z]*Error$/.test(type) ? 'invalid_request_error' : type,
    code: code !== null && /^\d{3}$/.test(code) ? null : code,
    param: text('param'),
  };
}

/** vLLM words a prompt over the context as a bare 400 ("maximum context length is N tokens"); OpenAI names it. */
function contextTooLong(status: number, message: string): boolean {
  return status === 400 && /maximum context length/i.test(message) && !/max_tokens|max_completion_tokens/.test(message);
}

/**
 * An upstream's own words about the caller's request, without what would name the deployment: the backend id, URLs
 * and host:port pairs. What is left (vLLM's "maximum context length is 8192 tokens", a parameter's name) stays.
 */
export function withoutInternalNames(message: string, backendId: string): string {
  let text = message.slice(0, 2_000);
  if (backendId !== '') text = text.split(backendId).join('the model server');
  return text
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"`)]+/gi, '(url)')
    .replace(/\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b/g, '(host)')
    .replace(/\blocalhost(?::\d+)?\b/gi, '(host)');
}

/** An HTTP error response from an upstream → UpstreamError keeping 4xx statuses (the caller's fault) as they are. */
export function errorFromUpstreamStatus(
  backendId: string,
  status: number,
  bodyText: string,
  header: HeaderLookup,
): UpstreamError {
  let parsed: UpstreamErrorBody | null = null;
  try {
    const json: unknown = JSON.parse(bodyText);
    parsed = readErrorBody(json);
    // FastAPI's own answers (vLLM's unknown routes): {"detail": "Not Found"}.
    const detail = (json as { detail?: unknown } | null)?.detail;
    if (!parsed && typeof detail === 'string') parsed = { message: detail, type: null, code: null, param: null };
  } catch {
    parsed = null;
  }
  const retryable = isRetryableStatus(status, header);
  const retryAfterMs = parseRetryAfterMs(header);
  const message = parsed?.message ?? (bodyText.slice(0, 200) || `HTTP ${status}`);
  // A 4xx other than the retryable ones is about the request: pass the upstream's status and type on.
  const clientFault = status >= 400 && status < 500 && !retryable;
  return new UpstreamError(`Backend ${backendId} returned ${status}: ${message}`, status, retryable, {
    backendId,
    publicMessage: clientFault
      ? withoutInternalNames(message, backendId)
      : status === 429
        ? 'The model server is rate limited; retry later.'
        : `The model server failed to answer (HTTP ${status}).`,
    retryAfterMs,
    status: clientFault ? status : status === 429 ? 429 : 502,
    type: clientFault
      ? (parsed?.type ?? 'invalid_request_error')
      : status === 429
        ? 'rate_limit_error'
        : 'upstream_error',
    code: clientFault
      ? contextTooLong(status, message)
        ? 'context_length_exceeded'
        : (parsed?.code ?? null)
      : status === 429
        ? 'rate_limit_exceeded'
        : 'upstream_error',
    param: clientFault ? (parsed?.param ?? null) : null,
    ...(retryAfterMs !== null ? { headers: { 'retry-after': String(Math.ceil(retryAfterMs / 1000)) } } : {}),
  });
}

/**
 * Anything thrown while talking to an upstream → SwitchyardError. An abort surfaces the reason the router gave
 * (ClientClosedError or a deadline UpstreamTimeoutError); socket failures are retryable UpstreamErrors.
 */
export function errorFromFailure(backendId: string, error: unknown, signal: CancelSignal): SwitchyardError {
  if (error instanceof SwitchyardError) return error;
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    return reason instanceof SwitchyardError ? reason : new ClientClosedError();
  }
  const code = (error as { code?: unknown }).code;
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new UpstreamTimeoutError('connect', 0, { cause: error, code: 'connect_timeout' });
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new UpstreamTimeoutError('ttft', 0, { cause: error });
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new UpstreamError(
    `Backend ${backendId} failed: ${detail}${typeof code === 'string' ? ` (${code})` : ''}`,
    0,
    true,
    {
      backendId,
      cause: error,
    },
  );
}
