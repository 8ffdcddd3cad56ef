// The governance chain as one object the request path calls through a narrow interface:
//   authenticate(header)            → the key (401/403 errors from the router's error tree)
//   admit(context)                  → prompt render, output-length control, input guardrails, token count, RPM/TPM,
//                                     worst-case budget reservation, cache lookup; an Admission to carry along
//   observeStream / guardBody        → output guardrails (bounded hold-back on streams), TTFT/ITL, cache capture
//   settle(admission, outcome)       → real cost (hosted prices or GPU-seconds share), budget settle, completion
//                                     tokens into TPM, spend row, alerts, metrics, log line, span
//   release(admission, status, err)  → gives the reservation back on failure
// Everything long-lived (key store, limiter, ledger, cache, cost meter, tracer) is owned here and created from config.
import { performance } from 'node:perf_hooks';
import type { AdmitContext, Admission, Priced, SettleOutcome } from './contracts.ts';
import type { Logger } from 'pino';
import { InvalidRequestError, toSwitchyardError } from '../../core/errors.ts';
import type { BudgetLedger } from './budgets/contracts.ts';
import { NANOS_PER_USD, usdToNanos } from './budgets/contracts.ts';
import { BudgetAlerts } from './budgets/alerts.ts';
import { AdmissionLimits, StageTimer } from './admission-limits.ts';
import { MemoryBudgetLedger } from './budgets/memory.ts';
import { RedisBudgetLedger } from './budgets/redis.ts';
import { lookupCaches } from './cache/lookup.ts';
import { ResponseCache } from './cache/response-cache.ts';
import { cacheScope } from './cache/scope.ts';
import { embedderNeeded, type GovernanceConfig } from '../config/governance.ts';
import { CostMeter } from './cost/cost.ts';
import type { PricingCatalog } from './cost/pricing.ts';
import {
  DisabledApiKeyError,
  GuardrailBlockedError,
  InvalidApiKeyError,
  MissingApiKeyError,
  ModelNotAllowedError,
} from './errors.ts';
import { applyInputGuardrails } from './guardrails/admission.ts';
import { guardrailPolicyFor } from './guardrails/profiles.ts';
import { embedderLoader } from './embedder-source.ts';
import type { GovernanceDeps } from './deps.ts';
import { SemanticFeatures, type SemanticCandidate } from './semantic-features.ts';
import { KeyStore, periodsOf, type KeyRecord } from './keys/store.ts';
import type { RateLimiter } from './limits/contracts.ts';
import { MemoryRateLimiter } from './limits/memory.ts';
import { RedisRateLimiter } from './limits/redis.ts';
import { ActivityTracker } from './observability/activity.ts';
import { type RequestNumbers, createGovernanceLoggers, requestLogLine } from './observability/logging.ts';
import { createGovernanceMetrics, type GovernanceMetrics } from './observability/metrics.ts';
import { createTracing, type Tracing } from './observability/tracing.ts';
import { PromptRegistry, type PromptFile } from './prompts/registry.ts';

const EMPTY_REGISTRY = new PromptRegistry();
import { connectRedis, type RedisSource } from './redis-client.ts';
import { countTokens } from './tokens.ts';
import { StreamObserver } from './stream-observer.ts';
import { isCacheHit, isOk, numberOr } from './outcome.ts';
import { countRequestTokens, finishSpan, requestSpanArguments } from './admission-parts.ts';

export type { AdmitContext, Admission, GovernedEndpoint, Priced, SettleOutcome } from './contracts.ts';

export * from './headers.ts';
import {
  FALLBACK_MAX_TOKENS,
  HEADER_CACHE,
  HEADER_COST,
  HEADER_CACHE_SIMILARITY,
  HEADER_GUARDRAILS,
  HEADER_PROMPT,
} from './headers.ts';

export type { GovernanceDeps } from './deps.ts';

export class Governance {
  readonly config: GovernanceConfig;
  readonly keys: KeyStore | undefined;
  readonly limiter: RateLimiter;
  readonly ledger: BudgetLedger;
  readonly cache: ResponseCache | undefined;
  readonly costMeter: CostMeter;
  readonly metrics: GovernanceMetrics;
  readonly logger: Logger;
  /** The per-request line without the redaction pass (see createGovernanceLoggers); `logger` when bodies are logged. */
  private readonly requestLogger: Logger;
  readonly prompts: PromptRegistry | undefined;
  /** The prompt rollout (router/chain): which version a `prompt` reference without one gets, sticky per user/session. */
  private promptRollout:
    ((name: string, version: string | undefined, stickyKey: string | undefined) => PromptFile | undefined) | undefined;
  readonly tracing: Tracing | undefined;
  readonly pricing: PricingCatalog;
  /** Recent errors, requests per second and spend today, for the dashboard. */
  readonly activity: ActivityTracker;
  /** Allowed topics and the semantic cache (undefined when neither is configured). */
  readonly semantic: SemanticFeatures | undefined;
  private readonly alerts: BudgetAlerts;
  private readonly limits: AdmissionLimits;
  private readonly clock: () => number;
  private readonly flushTimer: NodeJS.Timeout | undefined;
  private readonly redis: RedisSource | undefined;
  private readonly ownsRedis: boolean;
  private readonly fetchImpl: typeof fetch;
  private readonly routeOf: (model: string) => string;

  /**
   * Synchronous construction (the router builds its app synchronously); a Redis backend connects in the background
   * and the first limiter/ledger call waits for it. Prefer `create()` where an async start is possible: it fails
   * fast when Redis is unreachable.
   */
  constructor(deps: GovernanceDeps, redis?: RedisSource) {
    // First, before anything is opened: a missing embedding model (topics / semantic cache) fails start-up here.
    const embedder = embedderNeeded(deps.config)
      ? (deps.embedder ?? embedderLoader(deps.config, deps.retrieval))
      : undefined;
    if (redis === undefined && deps.config.limits.backend === 'redis') {
      redis = deps.redis ?? connectRedis(deps.config.limits.redisUrl);
      // Surface a failed connect on the first call, not as an unhandled rejection now.
      if (redis instanceof Promise) redis.catch(() => undefined);
    }
    const { config } = deps;
    this.config = config;
    this.clock = deps.clock ?? Date.now;
    this.pricing = deps.pricing;
    this.fetchImpl = deps.fetch ?? fetch;
    this.routeOf = deps.routeOf ?? ((model) => model);
    this.redis = redis;
    this.ownsRedis = redis !== undefined && deps.redis === undefined;
    this.keys = config.keys.enabled
      ? (deps.keyStore ?? new KeyStore({ path: config.keys.database, cacheMs: config.keys.cacheMs, clock: this.clock }))
      : undefined;
    const prefix = config.limits.redisPrefix;
    this.limiter = redis
      ? new RedisRateLimiter(redis, { prefix, clock: this.clock })
      : new MemoryRateLimiter({ clock: this.clock });
    this.ledger = redis ? new RedisBudgetLedger(redis, { prefix }) : new MemoryBudgetLedger();
    this.cache = config.cache.enabled
      ? new ResponseCache({ maxBytes: config.cache.maxBytes, ttlSeconds: config.cache.ttlSeconds, clock: this.clock })
      : undefined;
    this.costMeter = new CostMeter({ ...config.cost, clock: this.clock });
    this.activity = new ActivityTracker(this.clock);
    this.metrics = createGovernanceMetrics(deps.registry, {
      costMeter: this.costMeter,
      cacheBytes: () => this.cache?.size.bytes ?? 0,
    });
    ({ logger: this.logger, requestLogger: this.requestLogger } = createGovernanceLoggers({
      level: config.logging.level,
      ...(deps.logDestination ? { destination: deps.logDestination } : {}),
    }));
    this.limits = new AdmissionLimits({
      defaults: config.limits,
      limiter: this.limiter,
      ledger: this.ledger,
      metrics: this.metrics,
      costMeter: this.costMeter,
      pricing: this.pricing,
      keys: this.keys,
      clock: this.clock,
    });
    this.alerts = new BudgetAlerts({
      ledger: this.ledger,
      metrics: this.metrics,
      logger: this.logger,
      thresholds: config.budgets.alertThresholds,
      webhookUrl: config.budgets.webhookUrl,
      fetch: this.fetchImpl,
    });
    this.prompts = config.prompts.dir ? PromptRegistry.fromDirectory(config.prompts.dir) : undefined;
    this.semantic = embedder
      ? new SemanticFeatures({ config, embedder, logger: this.logger, clock: this.clock })
      : undefined;
    this.tracing =
      config.tracing.enabled || deps.spanExporter
        ? createTracing({
            serviceName: config.tracing.serviceName,
            ...(deps.spanExporter ? { exporter: deps.spanExporter } : {}),
          })
        : undefined;
    if (this.keys) {
      const keys = this.keys;
      this.flushTimer = setInterval(() => keys.flush(), config.keys.flushMs);
      this.flushTimer.unref();
    }
  }

  static async create(deps: GovernanceDeps): Promise<Governance> {
    const redis =
      deps.config.limits.backend === 'redis'
        ? (deps.redis ?? (await connectRedis(deps.config.limits.redisUrl)))
        : undefined;
    const governance = new Governance(deps, redis);
    // Fail fast when the embedding model cannot be loaded (the synchronous constructor only checks its files).
    try {
      await governance.semantic?.ready;
    } catch (error) {
      await governance.close();
      throw error;
    }
    return governance;
  }

  /** Register self-hosted backends so their idle time is reported from the start. */
  registerBackend(backendId: string, pool: string): void {
    const pricing = this.pricing.forPool(pool, '');
    if (pricing?.kind === 'self-hosted') this.costMeter.registerBackend(backendId, pricing);
  }

  isOpenPath(path: string): boolean {
    return !this.config.keys.enabled || !path.startsWith('/v1/') || this.config.keys.openPaths.includes(path);
  }

  /** Resolves `Authorization: Bearer <key>` to a key record; 401 for missing, unknown or disabled keys. */
  authenticate(authorization: string | undefined): KeyRecord | undefined {
    if (!this.keys) return undefined;
    const started = performance.now();
    try {
      const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
      if (!match) {
        this.metrics.authFailures.inc({ reason: 'missing' });
        throw new MissingApiKeyError();
      }
      const presented = match[1] as string;
      const record = this.keys.authenticate(presented);
      if (!record) {
        this.metrics.authFailures.inc({ reason: 'invalid' });
        throw new InvalidApiKeyError(`${presented.slice(0, 3)}…${presented.slice(-4)}`);
      }
      if (record.disabled) {
        this.metrics.authFailures.inc({ reason: 'disabled' });
        throw new DisabledApiKeyError(record.id);
      }
      return record;
    } finally {
      this.metrics.stage.auth.observe((performance.now() - started) / 1000);
    }
  }

  /** Admission; a refusal (401/403/400/429) is logged with the rule or limit that refused it, then thrown. */
  async admit(context: AdmitContext): Promise<Admission> {
    try {
      return await this.admitOrThrow(context);
    } catch (error) {
      const typed = toSwitchyardError(error);
      this.logger.info(
        {
          requestId: context.requestId,
          ...(context.key ? { keyId: context.key.id, team: context.key.team } : {}),
          route: context.endpoint,
          model: typeof context.body['model'] === 'string' ? context.body['model'] : '',
          status: typed.status,
          error: typed.message,
          code: typed.code,
          ...(error instanceof GuardrailBlockedError ? { guardrails: [`block:${error.rule}`] } : {}),
        },
        'request refused',
      );
      if (typed.status >= 500) this.noteError(context.requestId, typed.status, typed.message);
      throw error;
    }
  }

  /** Lets the prompt rollout choose versions for client `prompt` references (pinned `version` stays pinned). */
  usePromptRollout(
    choose: (name: string, version: string | undefined, stickyKey: string | undefined) => PromptFile | undefined,
  ): void {
    this.promptRollout = choose;
  }

  private async admitOrThrow(context: AdmitContext): Promise<Admission> {
    const startedAt = context.startedAt ?? performance.now();
    const lap = new StageTimer(this.metrics.stage);
    let body = context.body;
    let prompt: Admission['prompt'];
    if (body['prompt'] !== undefined && typeof body['prompt'] === 'object' && context.endpoint === 'chat') {
      const registry = this.prompts ?? (this.promptRollout ? EMPTY_REGISTRY : undefined);
      if (!registry)
        throw new InvalidRequestError('This router has no prompt registry configured.', { param: 'prompt' });
      const sticky = context.stickyKey ?? (typeof body['user'] === 'string' ? body['user'] : undefined);
      const rendered = registry.render(
        body,
        this.promptRollout && ((name, version) => this.promptRollout?.(name, version, sticky)),
      );
      body = rendered.body;
      prompt = { name: rendered.name, version: rendered.version, hash: rendered.hash };
      this.metrics.prompts.inc({ prompt: rendered.name, version: rendered.version, hash: rendered.hash });
      lap.lap('prompt');
    } else {
      body = { ...body };
    }
    const model = typeof body['model'] === 'string' ? body['model'] : '';
    const canonical = this.pricing.canonical(model);
    const key = context.key;
    if (
      key &&
      key.allowedModels.length > 0 &&
      !key.allowedModels.includes(model) &&
      !key.allowedModels.includes(canonical)
    ) {
      this.metrics.authFailures.inc({ reason: 'model_not_allowed' });
      throw new ModelNotAllowedError(model);
    }
    const policy = guardrailPolicyFor(this.config.guardrails, key?.guardrailProfile, canonical);
    // Input guardrails (chat messages or a completion prompt); the topic check and the semantic cache share one embedding.
    const embed = this.semantic?.embedOnce();
    let inputRules: string[] = [];
    let systemPrompt = '';
    let topic: Admission['topic'];
    let promptTokens = 0;
    if (context.endpoint !== 'embeddings' && this.config.guardrails.enabled) {
      const guarded = applyInputGuardrails({
        endpoint: context.endpoint,
        body,
        policy,
        record: this.recordInput,
        semantic: this.semantic,
        embed,
      });
      ({ inputRules, systemPrompt, topic } = guarded instanceof Promise ? await guarded : guarded);
      lap.lap('guard_input');
    }
    // tiktoken where the count is charged (TPM limit, budget); a 4-chars-per-token estimate otherwise (logs only).
    const exact =
      key !== undefined &&
      Boolean(key.tpm ?? this.config.limits.defaultTpm ?? key.dailyBudgetUsd ?? key.monthlyBudgetUsd);
    promptTokens = countRequestTokens(context.endpoint, body, exact);
    // Output length control: key limits over model limits; the effective max_tokens is what budgets reserve for.
    const maxTokens = context.endpoint === 'embeddings' ? 0 : this.applyOutputLength(body, key, canonical);
    const headers: Record<string, string> = {};
    if (prompt) headers[HEADER_PROMPT] = `${prompt.name}@${prompt.version};hash=${prompt.hash}`;
    if (inputRules.length > 0) headers[HEADER_GUARDRAILS] = inputRules.join(',');

    // Cache lookup before any limit is taken: a hit is free and costs the upstream nothing.
    let cache: Admission['cache'] = { key: undefined, hit: undefined, result: 'bypass' };
    let semantic: SemanticCandidate | undefined;
    if (this.cache && context.endpoint !== 'embeddings' && context.cacheControl !== 'off') {
      const scope = cacheScope({
        sharing: this.config.cache.scope,
        key: key ? { id: key.id, team: key.team } : undefined,
        policy,
        prompt,
        route: this.routeOf(model),
      });
      const found = await lookupCaches({
        exact: this.cache,
        semantic: this.semantic,
        embed,
        endpoint: context.endpoint,
        body,
        scope,
        cacheControl: context.cacheControl,
      });
      ({ cache, candidate: semantic } = found);
      if (found.similarity !== undefined) headers[HEADER_CACHE_SIMILARITY] = found.similarity.toFixed(4);
      this.metrics.cache.inc({ result: cache.result });
      headers[HEADER_CACHE] = cache.result;
      lap.lap('cache');
    }
    const admission: Admission = {
      endpoint: context.endpoint,
      requestId: context.requestId,
      key,
      body,
      model,
      promptTokens,
      maxTokens,
      reservation: undefined,
      reservedUsd: 0,
      prompt,
      cache,
      policy,
      systemPrompt,
      inputRules,
      topic,
      semantic,
      headers,
      startedAt,
      wallStartedAt: this.clock(),
      span: this.tracing?.startRequestSpan(...requestSpanArguments(context, model, key, maxTokens, body, prompt)),
      done: false,
      outputRules: [],
    };
    if (cache.hit) return admission;
    try {
      const limited = this.limits.take(admission, lap);
      if (limited) await limited;
    } catch (error) {
      finishSpan(admission, toSwitchyardError(error).status, {});
      throw error;
    }
    return admission;
  }

  private applyOutputLength(body: Record<string, unknown>, key: KeyRecord | undefined, model: string): number {
    const modelLimits = this.config.outputLength[model];
    const field = typeof body['max_completion_tokens'] === 'number' ? 'max_completion_tokens' : 'max_tokens';
    const requested = typeof body[field] === 'number' ? (body[field] as number) : undefined;
    const ceiling = key?.maxMaxTokens ?? modelLimits?.maxMaxTokens;
    let value = requested ?? key?.defaultMaxTokens ?? modelLimits?.defaultMaxTokens ?? ceiling ?? FALLBACK_MAX_TOKENS;
    if (ceiling !== undefined && ceiling !== null) value = Math.min(value, ceiling);
    // Always send the effective limit upstream: the worst case the budget reserved must be a real bound.
    body[field] = value;
    return value;
  }

  /** Bound once (passed to the input guardrails on every request). */
  private readonly recordInput = (rule: string, action: string): void => {
    this.metrics.guardrail.inc({ stage: 'input', rule, action });
  };

  /** The stream-side hook: output guardrails with hold-back, TTFT/ITL, cache capture. */
  observeStream(admission: Admission): StreamObserver {
    return new StreamObserver(admission, {
      guard:
        this.config.guardrails.enabled &&
        (admission.policy.output.pii !== 'off' || admission.policy.output.leakage !== 'off'),
      capture: admission.cache.result === 'miss',
      metrics: this.metrics,
    });
  }

  /** Output guardrails on a non-streamed body (rewritten in place); the rules that fired are kept on the admission. */
  guardBody(admission: Admission, body: Record<string, unknown>): Record<string, unknown> {
    const observer = this.observeStream(admission);
    observer.guardWholeBody(body);
    return body;
  }

  /**
   * The request's cost, computed once (synchronous, so a stream can put it in a trailer before it ends): hosted price
   * or GPU-seconds share, capped at the reserved worst case when a budget applies.
   */
  price(admission: Admission, outcome: SettleOutcome): Priced {
    if (admission.priced) return admission.priced;
    const cached = isCacheHit(admission.cache.result);
    const usage = outcome.usage ?? {};
    const promptTokens = cached ? 0 : numberOr(usage['prompt_tokens'], admission.promptTokens);
    const completionTokens = cached
      ? 0
      : numberOr(usage['completion_tokens'], outcome.outputText ? countTokens(outcome.outputText) : 0);
    let costUsd = 0;
    let kind = 'cache';
    if (!cached && outcome.served) {
      const pricing = this.pricing.forPool(outcome.served.pool, admission.model);
      if (pricing) {
        kind = pricing.kind;
        costUsd = this.costMeter.charge(
          pricing,
          { promptTokens, completionTokens },
          {
            backendId: outcome.served.backendId,
            startedAt: admission.wallStartedAt,
            endedAt: this.clock(),
          },
        );
      }
    }
    // Never more than reserved: the reservation is the bound that makes concurrent requests unable to overshoot.
    const chargedNanos = admission.reservation
      ? Math.min(usdToNanos(costUsd), admission.reservation.amountNanos)
      : usdToNanos(costUsd);
    admission.priced = { promptTokens, completionTokens, costUsd: chargedNanos / NANOS_PER_USD, chargedNanos, kind };
    return admission.priced;
  }

  /** Real cost, budget settle, TPM completion tokens, spend row, alerts, metrics, log line, span. Idempotent. */
  async settle(
    admission: Admission,
    outcome: SettleOutcome,
  ): Promise<{ costUsd: number; headers: Record<string, string> }> {
    if (admission.done) return { costUsd: admission.priced?.costUsd ?? 0, headers: {} };
    const { promptTokens, completionTokens, chargedNanos, kind } = this.price(admission, outcome);
    admission.done = true;
    const started = performance.now();
    const cached = isCacheHit(admission.cache.result);
    const key = admission.key;
    const chargedUsd = chargedNanos / NANOS_PER_USD;
    // The in-memory ledger and limiter answer synchronously: only real promises are awaited.
    if (admission.reservation) {
      const settling = this.ledger.settle(admission.reservation, chargedNanos);
      for (const scope of settling instanceof Promise ? await settling : settling) {
        const alerting = this.alerts.check(key as KeyRecord, scope);
        if (alerting) await alerting;
      }
    }
    if (key) {
      const limits = { rpm: key.rpm ?? null, tpm: key.tpm ?? this.config.limits.defaultTpm ?? null };
      if (limits.tpm && completionTokens > 0 && !cached) {
        const charging = this.limiter.charge(key.id, limits, completionTokens);
        if (charging) await charging;
      }
      this.keys?.recordSpend({
        keyId: key.id,
        team: key.team,
        model: this.pricing.canonical(admission.model),
        day: periodsOf(this.clock()).day,
        promptTokens,
        completionTokens,
        costUsd: chargedUsd,
        cached,
      });
    }
    if (
      this.cache &&
      admission.cache.key &&
      outcome.cacheAnswer &&
      admission.cache.result === 'miss' &&
      isOk(outcome.status)
    ) {
      const stored = this.cache.set(admission.cache.key, outcome.cacheAnswer);
      if (stored && admission.semantic) this.semantic?.remember(admission.semantic, admission.cache.key);
    }
    this.metrics.cost.inc(
      {
        model: this.pricing.canonical(admission.model),
        pool: outcome.served?.pool ?? 'cache',
        kind,
        team: key?.team ?? 'none',
      },
      chargedUsd,
    );
    if (!cached && outcome.served) {
      this.metrics.poolTokens.inc({ pool: outcome.served.pool, kind: 'prompt' }, promptTokens);
      this.metrics.poolTokens.inc({ pool: outcome.served.pool, kind: 'completion' }, completionTokens);
    }
    this.activity.addSpend(chargedUsd);
    const headers = { [HEADER_COST]: chargedUsd.toFixed(8) };
    this.metrics.stage.settle.observe((performance.now() - started) / 1000);
    this.logRequest(admission, outcome, { promptTokens, completionTokens, costUsd: chargedUsd });
    finishSpan(admission, typeof outcome.status === 'number' ? outcome.status : 200, {
      'gen_ai.usage.input_tokens': promptTokens,
      'gen_ai.usage.output_tokens': completionTokens,
      'gen_ai.response.model': admission.model,
      'switchyard.cost_usd': chargedUsd,
      'switchyard.cache': admission.cache.result,
      'switchyard.backend': outcome.served?.backendId,
      'switchyard.pool': outcome.served?.pool,
    });
    return { costUsd: chargedUsd, headers };
  }

  /** The request failed before producing anything billable: give the reservation and prompt tokens back. */
  async release(admission: Admission, error: unknown): Promise<void> {
    if (admission.done) return;
    admission.done = true;
    const typed = toSwitchyardError(error);
    if (admission.reservation) await this.ledger.release(admission.reservation);
    this.noteError(admission.requestId, typed.status, typed.message);
    this.logRequest(
      admission,
      { status: typed.status },
      { promptTokens: admission.promptTokens, completionTokens: 0, costUsd: 0 },
      typed.message,
    );
    finishSpan(admission, typed.status, { 'error.type': typed.type });
  }

  get recentErrors(): ActivityTracker['recentErrors'] {
    return this.activity.recentErrors;
  }

  noteError(requestId: string, status: number | string, message: string): void {
    this.activity.noteError(requestId, status, message);
  }

  /** Called for every /v1 request that reached the router (dashboard requests/s). */
  noteRequest(): void {
    this.activity.noteRequest();
  }

  requestsPerSecond(): number {
    return this.activity.requestsPerSecond();
  }

  spentTodayUsd(): number {
    return this.activity.spentTodayUsd();
  }

  private logRequest(admission: Admission, outcome: SettleOutcome, numbers: RequestNumbers, error?: string): void {
    const bodies = this.config.logging.bodies;
    (bodies ? this.logger : this.requestLogger).info(
      requestLogLine(admission, outcome, numbers, bodies, error),
      'request',
    );
  }

  async close(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.keys?.close();
    await this.limiter.close();
    await this.ledger.close();
    if (this.ownsRedis && this.redis) await (await this.redis).close();
    await this.tracing?.shutdown();
    await this.semantic?.close();
    this.logger.flush();
  }
}
