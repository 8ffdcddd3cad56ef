// Governance failures as subclasses of the router's one error tree, so they render as OpenAI error JSON in the same
// place as every other error. Statuses follow OpenAI: 401 for a missing/invalid/disabled key, 403 for a model the key
// may not use, 429 for rate limits (retryable, with retry-after) and exhausted budgets (`insufficient_quota`).
import {
  AuthenticationError,
  BudgetExceededError,
  InvalidRequestError,
  PermissionDeniedError,
  RateLimitError,
  SwitchyardError,
  type ErrorOptions,
} from '../../core/errors.ts';

export class MissingApiKeyError extends AuthenticationError {
  constructor() {
    super(
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      { code: 'missing_api_key' },
    );
  }
}

export class InvalidApiKeyError extends AuthenticationError {
  constructor(hint: string) {
    super(`Incorrect API key provided: ${hint}.`, { code: 'invalid_api_key' });
  }
}

export class DisabledApiKeyError extends AuthenticationError {
  constructor(keyId: string) {
    super(`The API key ${keyId} has been disabled.`, { code: 'api_key_disabled' });
  }
}

export class ModelNotAllowedError extends PermissionDeniedError {
  constructor(model: string) {
    super(`This API key is not allowed to use the model \`${model}\`.`, { code: 'model_not_allowed', param: 'model' });
  }
}

export class AdminAuthError extends AuthenticationError {
  constructor() {
    super('Admin endpoints need the admin token (Authorization: Bearer <adminToken>).', {
      code: 'invalid_admin_token',
    });
  }
}

export type LimitKind = 'requests' | 'tokens';

export class KeyRateLimitError extends RateLimitError {
  readonly limit: LimitKind;
  readonly retryAfterMs: number;
  constructor(limit: LimitKind, perMinute: number, retryAfterMs: number) {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    super(`Rate limit reached: ${perMinute} ${limit} per minute for this key. Please try again in ${seconds}s.`, {
      code: limit === 'requests' ? 'rate_limit_exceeded' : 'tokens_rate_limit_exceeded',
      headers: {
        'retry-after': String(seconds),
        'retry-after-ms': String(Math.ceil(retryAfterMs)),
        [`x-ratelimit-limit-${limit}`]: String(perMinute),
      },
    });
    this.limit = limit;
    this.retryAfterMs = retryAfterMs;
  }
}

export class KeyBudgetExceededError extends BudgetExceededError {
  constructor(period: string, limitUsd: number, options: ErrorOptions = {}) {
    super(
      `You exceeded your ${period} budget of $${limitUsd.toFixed(4)} for this key (the worst-case cost of this request does not fit).`,
      options,
    );
  }
}

/** A guardrail blocked the request or the response; the rule is named so the caller can see why. */
export class GuardrailBlockedError extends InvalidRequestError {
  readonly rule: string;
  constructor(rule: string, message: string) {
    super(message, { code: 'content_policy_violation' });
    this.rule = rule;
  }
}

/** A guardrail that must judge the request cannot run (its model failed to load): fail closed, retryable elsewhere. */
export class GuardrailUnavailableError extends SwitchyardError {
  constructor(message: string) {
    super(503, 'service_unavailable', message, true, { code: 'guardrail_unavailable' });
  }
}

export class PromptNotFoundError extends InvalidRequestError {
  constructor(name: string, version: string | undefined) {
    super(`Unknown prompt \`${name}\`${version ? ` version ${version}` : ''}.`, {
      code: 'prompt_not_found',
      param: 'prompt',
    });
  }
}
