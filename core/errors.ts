// The one error class tree of Switchyard. Every failure anywhere (bad input, upstream trouble, timeouts, no backend)
// becomes a SwitchyardError with an HTTP status, an OpenAI error `type`/`code`/`param` and whether a retry elsewhere
// could succeed. `renderError` is the single place that turns one into the OpenAI error JSON
// `{error:{message,type,param,code}}`; the Express error handler, the SSE error event, batch output lines and the
// deploy manager's endpoint all use it. Code constructs named subclasses, never the base class with a raw status.
// The one branch outside it is CliError: a command-line refusal that never reaches an HTTP response.

export interface ErrorOptions {
  code?: string | null;
  param?: string | null;
  /** Extra response headers (e.g. retry-after) to send with the error. */
  headers?: Readonly<Record<string, string>>;
  cause?: unknown;
}

export class SwitchyardError extends Error {
  readonly status: number;
  readonly type: string;
  readonly code: string | null;
  readonly param: string | null;
  /** True when the same request may succeed on another attempt or another backend. */
  readonly retryable: boolean;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, type: string, message: string, retryable: boolean, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.type = type;
    this.code = options.code ?? null;
    this.param = options.param ?? null;
    this.retryable = retryable;
    this.headers = options.headers ?? {};
  }
}

/** 400: the request itself is wrong; retrying elsewhere cannot help. */
export class InvalidRequestError extends SwitchyardError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(400, 'invalid_request_error', message, false, options);
  }
}

export class AuthenticationError extends SwitchyardError {
  constructor(message = 'Invalid or missing API key.', options: ErrorOptions = {}) {
    super(401, 'authentication_error', message, false, { code: 'invalid_api_key', ...options });
  }
}

export class PermissionDeniedError extends SwitchyardError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(403, 'permission_error', message, false, options);
  }
}

/** 404: unknown model or route. OpenAI reports unknown models as `invalid_request_error` / `model_not_found`. */
export class NotFoundError extends SwitchyardError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(404, 'invalid_request_error', message, false, options);
  }
}

export class PayloadTooLargeError extends SwitchyardError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(413, 'invalid_request_error', message, false, { code: 'request_too_large', ...options });
  }
}

/** 429 from us or passed on from an upstream. Retryable (after a delay, or on another backend). */
export class RateLimitError extends SwitchyardError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(429, 'rate_limit_error', message, true, { code: 'rate_limit_exceeded', ...options });
  }
}

/** 409: the resource is in a state that does not allow the operation (e.g. cancelling a finished batch). */
export class ConflictError extends SwitchyardError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(409, 'invalid_request_error', message, false, options);
  }
}

/** A budget or quota is exhausted: retrying does not help until it is raised. */
export class BudgetExceededError extends SwitchyardError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(429, 'insufficient_quota', message, false, { code: 'insufficient_quota', ...options });
  }
}

/**
 * An upstream backend failed (5xx, connection refused or reset, malformed reply). `upstreamStatus` is what the
 * backend said (0 when it never answered); the client sees 502 unless the upstream status is more precise.
 * `message` names the backend (for logs); clients see `publicMessage`, which never does: the backend id goes out in
 * the `x-switchyard-backend` header instead.
 */
export class UpstreamError extends SwitchyardError {
  readonly upstreamStatus: number;
  readonly backendId: string | null;
  /** From retry-after-ms / retry-after, when the upstream sent one. */
  readonly retryAfterMs: number | null;
  readonly publicMessage: string;

  constructor(
    message: string,
    upstreamStatus: number,
    retryable: boolean,
    options: ErrorOptions & {
      backendId?: string;
      retryAfterMs?: number | null;
      status?: number;
      type?: string;
      publicMessage?: string;
    } = {},
  ) {
    super(options.status ?? 502, options.type ?? 'upstream_error', message, retryable, {
      code: 'upstream_error',
      ...options,
    });
    this.upstreamStatus = upstreamStatus;
    this.backendId = options.backendId ?? null;
    this.retryAfterMs = options.retryAfterMs ?? null;
    this.publicMessage =
      options.publicMessage ??
      (upstreamStatus === 0
        ? 'The model server could not be reached.'
        : upstreamStatus === 200
          ? 'The model server sent a broken answer.'
          : `The model server failed to answer (HTTP ${upstreamStatus}).`);
  }
}

export type TimeoutPhase = 'connect' | 'ttft' | 'total';

/** 504: an upstream did not connect, start or finish in time. Retryable on another backend. */
export class UpstreamTimeoutError extends SwitchyardError {
  readonly phase: TimeoutPhase;
  constructor(phase: TimeoutPhase, limitMs: number, options: ErrorOptions = {}) {
    super(504, 'timeout_error', `Upstream ${phase} timeout after ${limitMs} ms.`, true, {
      code: `${phase}_timeout`,
      ...options,
    });
    this.phase = phase;
  }
}

/** 503: every backend of every pool in the route is down, open-circuited or saturated. */
export class NoEligibleBackendError extends SwitchyardError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(503, 'service_unavailable', message, true, { code: 'no_eligible_backend', ...options });
  }
}

/** The client went away; nothing is sent, the upstream is aborted. */
export class ClientClosedError extends SwitchyardError {
  constructor() {
    super(499, 'client_closed_request', 'The client closed the connection.', false);
  }
}

/**
 * 502: an upstream answered something that does not follow its protocol (an unreadable metrics page, a stream where
 * JSON was asked for). Another backend, or the next scrape, may do better.
 */
export class MalformedUpstreamReplyError extends SwitchyardError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(502, 'upstream_error', message, true, { code: 'malformed_upstream_reply', ...options });
  }
}

/** 500 with an actionable message: this installation is wrong (e.g. a native build for another CPU). */
export class ServerSetupError extends SwitchyardError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(500, 'server_error', message, false, options);
  }
}

/** 500: a bug. The message shown to clients is generic; the cause is logged. */
export class InternalError extends SwitchyardError {
  constructor(message = 'Internal router error.', options: ErrorOptions = {}) {
    super(500, 'server_error', message, false, { code: 'internal_error', ...options });
  }
}

/**
 * Not an HTTP error: a command-line tool refusing its input (an invalid config file, calibration data, a GGUF file,
 * a failed engine build). The command prints `message` and exits with `exitCode`; it never reaches an HTTP response,
 * so it carries no status. Errors that can reach a client belong under SwitchyardError instead.
 */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? 1;
  }
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** Turns anything thrown into a SwitchyardError (unknown values become InternalError with the value as cause). */
export function toSwitchyardError(error: unknown): SwitchyardError {
  if (error instanceof SwitchyardError) return error;
  if (isBodyParserError(error)) {
    if (error.type === 'entity.too.large') {
      return new PayloadTooLargeError(`Request body is larger than the limit of ${error.limit ?? '?'} bytes.`);
    }
    if (error.type === 'entity.parse.failed') {
      return new InvalidRequestError(`We could not parse the JSON body of your request: ${error.message}`, {
        code: 'invalid_json',
      });
    }
    if (error.status !== undefined && error.status >= 400 && error.status < 500) {
      return new InvalidRequestError(error.message, { code: error.type ?? null });
    }
  }
  return new InternalError(undefined, { cause: error });
}

/** The one renderer: status, headers and OpenAI error JSON for any error. */
export function renderError(error: unknown): {
  status: number;
  headers: Readonly<Record<string, string>>;
  body: OpenAIErrorBody;
} {
  const typed = toSwitchyardError(error);
  if (typed instanceof UpstreamError) {
    return {
      status: typed.status,
      headers: typed.backendId === null ? typed.headers : { ...typed.headers, 'x-switchyard-backend': typed.backendId },
      body: { error: { message: typed.publicMessage, type: typed.type, param: typed.param, code: typed.code } },
    };
  }
  return {
    status: typed.status,
    headers: typed.headers,
    body: { error: { message: typed.message, type: typed.type, param: typed.param, code: typed.code } },
  };
}

interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
  message: string;
}

function isBodyParserError(error: unknown): error is BodyParserError {
  return (
    error instanceof Error &&
    typeof (error as { type?: unknown }).type === 'string' &&
    typeof (error as { status?: unknown }).status === 'number'
  );
}
