// Errors of the simulated server, rendered in one place in the shape of the server being imitated:
// vLLM: {"error":{"message","type":"BadRequestError","param":null,"code":400}} (numeric code, Python class-style type);
// hosted (OpenAI): {"error":{"message","type":"invalid_request_error","param":null,"code":"model_not_found"}}.
import { SwitchyardError } from '../../core/errors.ts';

export type Profile = 'vllm' | 'hosted';

export type SimErrorKind =
  | 'bad_request'
  | 'invalid_user_input'
  | 'context_length'
  | 'unauthorized'
  | 'not_found'
  | 'route_not_found'
  | 'rate_limited'
  | 'internal'
  | 'unavailable';

const STATUS: Readonly<Record<SimErrorKind, number>> = {
  bad_request: 400,
  invalid_user_input: 400,
  context_length: 400,
  unauthorized: 401,
  not_found: 404,
  route_not_found: 404,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
};

/** vLLM names error types after its Python exceptions / HTTP phrases. */
const VLLM_TYPE: Readonly<Record<SimErrorKind, string>> = {
  bad_request: 'BadRequestError',
  // vLLM's LoRA load/unload checks.
  invalid_user_input: 'InvalidUserInput',
  context_length: 'BadRequestError',
  unauthorized: 'Unauthorized',
  not_found: 'NotFoundError',
  route_not_found: 'NotFoundError',
  rate_limited: 'TooManyRequests',
  internal: 'InternalServerError',
  unavailable: 'ServiceUnavailable',
};

const OPENAI_TYPE_AND_CODE: Readonly<Record<SimErrorKind, [string, string | null]>> = {
  bad_request: ['invalid_request_error', null],
  invalid_user_input: ['invalid_request_error', null],
  context_length: ['invalid_request_error', 'context_length_exceeded'],
  unauthorized: ['invalid_request_error', 'invalid_api_key'],
  not_found: ['invalid_request_error', 'model_not_found'],
  route_not_found: ['invalid_request_error', 'unknown_url'],
  rate_limited: ['requests', 'rate_limit_exceeded'],
  internal: ['server_error', null],
  unavailable: ['server_error', 'service_unavailable'],
};

/**
 * A failure of the simulated engine. It sits in the one tree (status, retryable, OpenAI type and code as a hosted API
 * would send them); `renderError` below, not core's, writes its body, because the body imitates the engine's own
 * shape (vLLM's numeric `code`), which is what the router under test must cope with.
 */
export class SimError extends SwitchyardError {
  readonly kind: SimErrorKind;
  /** Seconds for a Retry-After header (429/503). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    kind: SimErrorKind,
    message: string,
    options: { param?: string | null; retryAfterSeconds?: number } = {},
  ) {
    const [type, code] = OPENAI_TYPE_AND_CODE[kind];
    const retryable = kind === 'rate_limited' || kind === 'internal' || kind === 'unavailable';
    super(STATUS[kind], type, message, retryable, { param: options.param ?? null, code });
    this.kind = kind;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** An error for an injected fault with a given HTTP status. */
  static forStatus(status: number, message: string, retryAfterSeconds?: number): SimError {
    const kind =
      (Object.keys(STATUS) as SimErrorKind[]).find((candidate) => STATUS[candidate] === status) ?? 'internal';
    return new SimError(kind, message, retryAfterSeconds === undefined ? {} : { retryAfterSeconds });
  }
}

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: number | string | null };
}

export function renderError(error: SimError, profile: Profile): ErrorBody {
  if (profile === 'hosted') {
    const [type, code] = OPENAI_TYPE_AND_CODE[error.kind];
    return { error: { message: error.message, type, param: error.param, code } };
  }
  return { error: { message: error.message, type: VLLM_TYPE[error.kind], param: error.param, code: error.status } };
}
