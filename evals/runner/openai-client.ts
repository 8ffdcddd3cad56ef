// The one way the evals call a model: the official openai SDK against any OpenAI-compatible base URL (the
// Switchyard router, the simulator, vLLM, a hosted API), behind the response cache. Cache key = sha256 of
// canonical JSON {namespace (the base URL unless set), model, full request, scope}; scope carries the repeat index and, for judge calls, the
// judge prompt hash, order and attempt, so a repeated run with the same inputs makes no model calls.
import OpenAI from 'openai';
import { UpstreamError, type SwitchyardError } from '../../core/errors.ts';
import { canonicalJson, sha256 } from '../canonical.ts';
import type { ChatClient, ChatRequest, ChatResponse, ResponseCache } from '../contracts.ts';

export interface OpenAIChatClientOptions {
  baseURL: string;
  apiKey?: string;
  cache: ResponseCache | null;
  /**
   * Separates cache entries of different deployments serving the same model name. Defaults to the base URL, so
   * pointing the same model name at another server never returns the first server's answers.
   */
  cacheNamespace?: string;
  timeoutMs?: number;
  /** SDK-level retries for 429/5xx/connection errors. */
  maxRetries?: number;
  /** Injected for tests; defaults to global fetch. */
  fetch?: typeof fetch;
  now?: () => number;
}

interface CachedCompletion {
  text: string;
  usage?: { promptTokens: number; completionTokens: number };
}

function isCachedCompletion(value: unknown): value is CachedCompletion {
  return value !== null && typeof value === 'object' && typeof (value as { text?: unknown }).text === 'string';
}

export class OpenAIChatClient implements ChatClient {
  private readonly client: OpenAI;
  private readonly now: () => number;
  /** Model calls actually made (cache misses), for reports and tests. */
  calls = 0;

  constructor(private readonly options: OpenAIChatClientOptions) {
    this.client = new OpenAI({
      baseURL: options.baseURL,
      apiKey: options.apiKey ?? 'not-needed',
      timeout: options.timeoutMs ?? 120_000,
      maxRetries: options.maxRetries ?? 2,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    this.now = options.now ?? (() => performance.now());
  }

  cacheKey(request: ChatRequest, scope: Readonly<Record<string, string | number>>): string {
    return sha256(
      canonicalJson({
        namespace: this.options.cacheNamespace ?? this.options.baseURL,
        model: request.model,
        request,
        scope,
      }),
    );
  }

  async complete(request: ChatRequest, scope: Readonly<Record<string, string | number>>): Promise<ChatResponse> {
    const key = this.cacheKey(request, scope);
    const hit = this.options.cache ? await this.options.cache.get(key) : undefined;
    if (isCachedCompletion(hit)) {
      return { text: hit.text, cached: true, latencyMs: 0, ...(hit.usage ? { usage: hit.usage } : {}) };
    }
    const started = this.now();
    this.calls++;
    let completion: OpenAI.Chat.Completions.ChatCompletion;
    try {
      completion = await this.client.chat.completions.create(toSdkRequest(request));
    } catch (error) {
      throw toEvalUpstreamError(error, request.model);
    }
    const text = completion.choices[0]?.message.content ?? '';
    const usage = completion.usage
      ? { promptTokens: completion.usage.prompt_tokens, completionTokens: completion.usage.completion_tokens }
      : undefined;
    const entry: CachedCompletion = { text, ...(usage ? { usage } : {}) };
    if (this.options.cache) await this.options.cache.set(key, entry);
    return { text, cached: false, latencyMs: this.now() - started, ...(usage ? { usage } : {}) };
  }
}

function toSdkRequest(request: ChatRequest): OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming {
  return {
    model: request.model,
    messages: request.messages,
    stream: false,
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(request.max_tokens === undefined ? {} : { max_tokens: request.max_tokens }),
    ...(request.seed === undefined ? {} : { seed: request.seed }),
    ...(request.response_format === undefined ? {} : { response_format: request.response_format }),
  };
}

function toEvalUpstreamError(error: unknown, model: string): SwitchyardError {
  if (error instanceof OpenAI.APIError) {
    const status = error.status ?? 0;
    return new UpstreamError(
      `model ${model}: ${error.message}`,
      status,
      status === 429 || status >= 500 || status === 0,
      {
        cause: error,
      },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new UpstreamError(`model ${model}: ${message}`, 0, true, { cause: error });
}
