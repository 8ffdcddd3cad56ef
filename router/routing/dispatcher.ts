// One request's journey over its route plan: pick a backend (scheduler per pool, spill-over when a pool is saturated
// or would miss the TTFT SLO), send, and on a retryable failure try the next backend of the pool, then the next pool
// of the route, then — after an openai-node style backoff — the same backends again, until attempts or the deadline
// run out. Non-streamed answers that fail a quality check escalate to the next pool. Streams are only "accepted" once
// their first chunk arrived, so a failure before the first byte reaches the client is retried transparently.
import { performance } from 'node:perf_hooks';
import type { BackendRequest, Endpoint, StreamChunk, UpstreamClock } from '../backends/contracts.ts';
import type { RetryConfig } from '../config/schema.ts';
import type { SwitchyardError } from '../../core/errors.ts';
import { NoEligibleBackendError, UpstreamError, toSwitchyardError } from '../../core/errors.ts';
import { labelCache, type RouterMetrics } from '../observability/metrics.ts';
import { retryDelayMs, sleep } from '../resilience/backoff.ts';
import type { BackendEntry, BackendRegistry } from '../pools/backend-registry.ts';
import {
  estimateUncachedPromptTokens,
  millisecondCostModel,
  predictTtft,
  type BackendState,
  type Scheduler,
  type SchedulingRequest,
  type SchedulingResult,
  type TtftCostModel,
} from '../scheduling-facade/index.ts';
import type { StepTimeModel } from '../../models/step-time.ts';
import type { RoutePlan, RouteStep } from './plan.ts';
import { fits, largerContextStep, neededContextTokens } from './context-fit.ts';
import { failedQualityCheck } from './quality.ts';
import type { CancelSignal } from '../resilience/cancellation.ts';
import type { PoolTraffic } from '../pools/pool-traffic.ts';
import { type RequestTimer, unchangedBodyText, upstreamBody } from './upstream-body.ts';
import type { AdapterSender } from '../lora/loader.ts';

/** `context`: a step whose context window cannot hold the request was passed over for a later one that can. */
export type RouteReason = 'primary' | 'tier' | 'fallback' | 'spillover' | 'escalation' | 'retry' | 'queued' | 'context';

export interface DispatchInput {
  endpoint: Endpoint;
  /** The validated client body (`model` is the name the client sent). */
  body: Readonly<Record<string, unknown>>;
  plan: RoutePlan;
  /** Base scheduling request; `model` is set per route step. */
  scheduling: Omit<SchedulingRequest, 'model'>;
  requestId: string;
  /** W3C traceparent for upstream requests (the router's span of this request). */
  traceparent?: string;
  /** Aborts on client disconnect or the total deadline; its reason is the error to surface. */
  signal: CancelSignal;
  timer: RequestTimer;
  /** Streaming continuation: text already sent to the client and how many chunks it took. */
  continuation?: { prefix: string; emittedTokens: number };
  /** Backends not to use (e.g. the one whose stream just broke). */
  exclude?: ReadonlySet<string>;
  /** `body` as the client's JSON text, when the router has it unchanged: sent as it is when an attempt can. */
  bodyText?: string | undefined;
}

/** A backend slot held by one request: release exactly once with the outcome. */
export interface Lease {
  readonly entry: BackendEntry;
  readonly step: RouteStep;
  /** What happened on the way, e.g. ['tier', 'spillover']; the last one labels metrics. */
  readonly reasons: readonly RouteReason[];
  /** The first token arrived: the request's prompt leaves the backend's prefill backlog. Idempotent. */
  firstToken(): void;
  finish(outcome: 'success' | 'failure' | 'aborted'): void;
}

export type DispatchResult =
  | { streamed: false; body: Record<string, unknown>; lease: Lease }
  | { streamed: true; first: StreamChunk | null; rest: AsyncIterator<StreamChunk>; lease: Lease };

interface Choice {
  entry: BackendEntry;
  /** Prompt tokens this backend must prefill (prefix-cached blocks excluded). */
  uncachedTokens: number;
  stepIndex: number;
  /** Why earlier steps were passed over (spillover / fallback), if any. */
  skipCause: 'spillover' | 'fallback' | 'context' | null;
  queued: boolean;
}

export interface DispatcherDeps {
  registry: BackendRegistry;
  scheduler: Scheduler;
  metrics: RouterMetrics;
  retries: RetryConfig;
  /** Tokens per prefix block (the scheduling profile's), to turn prefix-affinity scores into cached tokens. */
  prefixBlockTokens?: number;
  /** Per-pool arrival and spill-over rates (deploy/'s autoscaler signals). */
  traffic?: PoolTraffic;
  random?: () => number;
  /** LoRA: sends adapter requests (loads the adapter on the replica first when needed; router/lora). */
  adapters?: AdapterSender;
}

/** A backend that answered within this window counts as alive even when its metrics went stale. */
const ALIVE_EVIDENCE_MS = 10_000;

export class Dispatcher {
  private readonly random: () => number;
  private readonly blockTokens: number;
  /** One millisecond TTFT cost model per pool step-time model. */
  private readonly costModels = new WeakMap<StepTimeModel, TtftCostModel>();
  /** Pre-bound counter children: a labels object per request would be hashed on every increment. */
  private readonly attemptCounter: (backend: string, outcome: string) => { inc(): void };

  constructor(private readonly deps: DispatcherDeps) {
    this.random = deps.random ?? Math.random;
    this.blockTokens = deps.prefixBlockTokens ?? 16;
    this.attemptCounter = labelCache((backend, outcome) => deps.metrics.attempts.labels({ backend, outcome }));
  }

  async dispatch(input: DispatchInput): Promise<DispatchResult> {
    // LoRA: the scheduler sees the adapter (lora-affinity); the plan already holds only the base model's vLLM pools.
    if (input.plan.adapter !== undefined && input.scheduling.adapter === undefined) {
      input = { ...input, scheduling: { ...input.scheduling, adapter: input.plan.adapter } };
    }
    const { plan, signal } = input;
    const exclude = new Set(input.exclude ?? []);
    const reasons: RouteReason[] = [plan.tier === undefined ? 'primary' : 'tier'];
    let attempts = 0;
    let stepFloor = 0;
    let lastError: SwitchyardError | undefined;
    let escalated: DispatchResult | undefined;
    let failedAtStep: number | null = null;
    if (!input.continuation) this.deps.traffic?.arrival(plan.steps[0]?.pool.name ?? '');
    while (true) {
      if (signal.aborted) throw toSwitchyardError(signal.reason);
      const choice = this.choose(input, stepFloor, exclude);
      if (!choice) {
        if (escalated) return escalated;
        const retryable = lastError?.retryable ?? false;
        if (!retryable || attempts >= this.deps.retries.maxAttempts || exclude.size === 0) {
          throw lastError ?? new NoEligibleBackendError(`No backend available for model \`${plan.requested}\`.`);
        }
        // Every backend failed once: wait like openai-node would, then give them another chance.
        const retryAfter = lastError instanceof UpstreamError ? lastError.retryAfterMs : null;
        const delay = retryDelayMs(attempts, retryAfter, this.deps.retries, this.random);
        if (delay === null) throw lastError ?? new NoEligibleBackendError('No backend available.');
        input.timer.waitMs += delay;
        await sleep(delay, signal);
        exclude.clear();
        stepFloor = 0;
        failedAtStep = plan.steps.length;
        continue;
      }
      attempts++;
      if (failedAtStep !== null) noteReason(reasons, choice.stepIndex > failedAtStep ? 'fallback' : 'retry');
      if (choice.queued) noteReason(reasons, 'queued');
      else if (choice.skipCause) noteReason(reasons, choice.skipCause);
      if (choice.skipCause === 'spillover') {
        this.deps.traffic?.spill(plan.steps[stepFloor]?.pool.name ?? '');
        this.deps.metrics.spillovers.inc({
          model: plan.model.name,
          from_pool: plan.steps[stepFloor]?.pool.name ?? '',
          to_pool: choice.entry.pool.name,
          cause: 'saturated',
        });
      }
      const lease = this.lease(choice, input, [...reasons]);
      let result: DispatchResult;
      try {
        result = await this.attempt(choice, input, lease);
      } catch (error) {
        const typed = toSwitchyardError(error);
        if (signal.aborted || typed.status === 499) {
          lease.finish('aborted');
          throw toSwitchyardError(signal.aborted ? signal.reason : typed);
        }
        // A 4xx that is the caller's fault says nothing bad about the backend.
        lease.finish(typed.retryable ? 'failure' : 'success');
        this.attemptCounter(choice.entry.state.id, typed.retryable ? 'retryable' : 'fatal').inc();
        if (!typed.retryable) {
          // Too long for this step's context: a later step with a larger window may still serve it.
          const larger =
            typed.code === 'context_length_exceeded' ? largerContextStep(plan.steps, choice.stepIndex) : null;
          if (larger !== null && attempts < this.deps.retries.maxAttempts + plan.steps.length) {
            stepFloor = larger;
            noteReason(reasons, 'context');
            continue;
          }
          if (escalated) return escalated;
          throw typed;
        }
        lastError = typed;
        exclude.add(choice.entry.state.id);
        if (typed instanceof UpstreamError && typed.retryAfterMs !== null) {
          this.deps.registry.coolDown(choice.entry, typed.retryAfterMs);
        }
        if (attempts >= this.deps.retries.maxAttempts) {
          if (escalated) return escalated;
          throw typed;
        }
        failedAtStep = choice.stepIndex;
        continue;
      }
      this.attemptCounter(choice.entry.state.id, 'success').inc();
      // Only checked when there is a next step to escalate to (the check reads the whole answer).
      const canEscalate = choice.stepIndex + 1 < plan.steps.length && attempts < this.deps.retries.maxAttempts;
      if (!result.streamed && input.endpoint !== 'embeddings' && plan.model.escalate && canEscalate) {
        const failed = failedQualityCheck(input.endpoint, input.body, result.body);
        if (failed) {
          this.deps.metrics.escalations.inc({ model: plan.model.name, check: failed });
          result.lease.finish('success');
          escalated = result;
          stepFloor = choice.stepIndex + 1;
          reasons.push('escalation');
          continue;
        }
      }
      return result;
    }
  }

  /**
   * Walks the route from `stepFloor`, returning the first backend worth sending to. Within a pool the scheduler's
   * picker decides: its `ranked` list is the picker's order, walked only past backends that cannot take the request
   * (breaker probe taken, over the TTFT SLO, replicas starting while hosted capacity is preferred).
   */
  private choose(input: DispatchInput, stepFloor: number, exclude: ReadonlySet<string>): Choice | null {
    const { plan } = input;
    let skipCause: Choice['skipCause'] = null;
    let lastResort: { entry: BackendEntry; stepIndex: number; uncachedTokens: number } | null = null;
    const needed = neededContextTokens(input.scheduling.promptTokens, input.body);
    for (let stepIndex = stepFloor; stepIndex < plan.steps.length; stepIndex++) {
      const step = plan.steps[stepIndex]!;
      if (!fits(step, needed) && plan.steps.slice(stepIndex + 1).some((later) => fits(later, needed))) {
        skipCause ??= 'context';
        continue;
      }
      const entries = this.deps.registry.pool(step.pool.name);
      const candidates: BackendState[] = [];
      let hostedFull: BackendState[] | undefined;
      for (const entry of entries) {
        if (exclude.has(entry.state.id)) continue;
        // A hosted API's concurrency cap is a rate-limit guard, not a load signal: full means saturated.
        if (entry.pool.kind === 'openai' && entry.state.inFlightRequests >= entry.pool.maxConcurrency) {
          (hostedFull ??= []).push(entry.state);
          continue;
        }
        candidates.push(entry.state);
      }
      const request: SchedulingRequest = { ...input.scheduling, model: step.model.name };
      const result = this.deps.scheduler.schedule(request, candidates);
      const isLast = stepIndex === plan.steps.length - 1;
      const spillAllowed = step.model.spillover && !isLast;
      const slo = step.model.sloTtftMs;
      // deploy/'s autoscaler asked to spill what would queue here while replicas start.
      const preferHosted = spillAllowed && this.deps.registry.prefersHosted(step.pool.name);
      for (const scored of result.ranked) {
        const entry = this.deps.registry.get(scored.backend.id)!;
        const uncachedTokens = estimateUncachedPromptTokens(request, scored, this.blockTokens);
        if (
          preferHosted &&
          ((entry.state.metrics?.requestsWaiting ?? 0) > 0 || (entry.state.pendingPrefillTokens ?? 0) > 0)
        ) {
          lastResort ??= { entry, stepIndex, uncachedTokens };
          continue;
        }
        if (slo !== undefined && spillAllowed) {
          const predicted = this.predictTtftMs(entry, uncachedTokens, request.promptTokens);
          if (predicted !== null && predicted > slo) {
            lastResort ??= { entry, stepIndex, uncachedTokens };
            continue;
          }
        }
        if (!entry.breaker.tryAcquire()) continue;
        return { entry, stepIndex, skipCause, queued: false, uncachedTokens };
      }
      if (result.ranked.length > 0 || result.allSaturated || hostedFull) {
        // Saturated (or over the SLO): spill to the next pool; remember where this pool would queue as a last resort.
        lastResort ??= this.saturatedFallback(request, result, hostedFull, stepIndex);
        if (!spillAllowed && lastResort && lastResort.entry.breaker.tryAcquire()) {
          return { ...lastResort, skipCause, queued: true };
        }
        skipCause ??= 'spillover';
      } else {
        skipCause ??= 'fallback';
      }
    }
    if (lastResort && lastResort.entry.breaker.tryAcquire()) {
      return { ...lastResort, skipCause: null, queued: true };
    }
    return null;
  }

  /**
   * Where to queue when a pool is saturated: the scheduler's `bestSaturated` (same scorers and picker, busy before
   * stale), or among full hosted backends the scheduler's pick. A backend picked on stale metrics only counts with
   * fresh router-side proof of life (a CPU-starved router scrapes late; failing every request closed would turn its
   * own overload into an outage) — a replica never scraped and never answered does not.
   */
  private saturatedFallback(
    request: SchedulingRequest,
    result: SchedulingResult,
    hostedFull: readonly BackendState[] | undefined,
    stepIndex: number,
  ): { entry: BackendEntry; stepIndex: number; uncachedTokens: number } | null {
    let best = result.bestSaturated;
    if (!best && hostedFull) {
      const full = this.deps.scheduler.schedule(request, hostedFull);
      best = full.picked ?? full.bestSaturated;
    }
    if (!best) return null;
    const entry = this.deps.registry.get(best.backend.id);
    if (!entry) return null;
    const state = entry.state;
    if (state.metricsStale && this.deps.registry.now() - entry.lastSuccessAt > ALIVE_EVIDENCE_MS) return null;
    return { entry, stepIndex, uncachedTokens: estimateUncachedPromptTokens(request, best, this.blockTokens) };
  }

  /** Predicted time to first token on a vLLM replica in ms (router/scheduling's one predictor, the pool's step times). */
  predictTtftMs(entry: BackendEntry, uncachedTokens: number, promptTokens: number = uncachedTokens): number | null {
    const model = entry.stepModel;
    if (!model) return null;
    let cost = this.costModels.get(model);
    if (!cost) {
      cost = millisecondCostModel(model);
      this.costModels.set(model, cost);
    }
    return predictTtft(entry.state, uncachedTokens, promptTokens, cost) ?? null;
  }

  private lease(choice: Choice, input: DispatchInput, reasons: RouteReason[]): Lease {
    const limit = Number(input.body['max_tokens'] ?? input.body['max_completion_tokens'] ?? 256);
    const tokens = input.scheduling.promptTokens + (Number.isFinite(limit) ? limit : 256);
    const step = input.plan.steps[choice.stepIndex]!;
    const scheduling: SchedulingRequest = { ...input.scheduling, model: step.model.name };
    return new BackendLease(
      this.deps.registry,
      this.deps.scheduler,
      choice.entry,
      step,
      reasons,
      scheduling,
      tokens,
      choice.uncachedTokens,
    );
  }

  private async attempt(choice: Choice, input: DispatchInput, lease: Lease): Promise<DispatchResult> {
    const step = lease.step;
    const clock: UpstreamClock = { sentAt: undefined, answeredAt: undefined };
    const body = upstreamBody(input.endpoint, input.body, step, choice.entry.backend.kind, input.continuation);
    if (choice.entry.servedModel) body['model'] = choice.entry.servedModel;
    const adapter = input.plan.adapter;
    const request: BackendRequest = {
      endpoint: input.endpoint,
      body,
      // An adapter request renames the model: serialised again.
      bodyText:
        adapter === undefined ? unchangedBodyText(input.body, body, input.bodyText, input.continuation) : undefined,
      requestId: input.requestId,
      ...(input.traceparent ? { traceparent: input.traceparent } : {}),
      signal: input.signal,
      ttftMs: input.plan.timeouts.ttftMs,
      clock,
    };
    const started = performance.now();
    input.timer.dispatchedAt ??= started;
    try {
      const response = await (adapter !== undefined && this.deps.adapters
        ? this.deps.adapters.send(choice.entry, adapter, request)
        : choice.entry.backend.send(request));
      if (!response.streamed) {
        if (request.body['stream'] === true) {
          throw new UpstreamError(`Backend ${choice.entry.state.id} did not stream`, 200, true);
        }
        lease.firstToken();
        return { streamed: false, body: response.body, lease };
      }
      const iterator = response.chunks[Symbol.asyncIterator]();
      try {
        const first = await iterator.next();
        lease.firstToken();
        return { streamed: true, first: first.done ? null : first.value, rest: iterator, lease };
      } catch (error) {
        await iterator.return?.();
        throw error;
      }
    } finally {
      // Backends that stamp the clock count only the upstream's own wait; others the whole attempt.
      const { sentAt, answeredAt } = clock;
      input.timer.upstreamMs +=
        sentAt !== undefined && answeredAt !== undefined ? answeredAt - sentAt : performance.now() - started;
    }
  }
}

function noteReason(reasons: RouteReason[], reason: RouteReason): void {
  if (reasons.at(-1) !== reason) reasons.push(reason);
}

/**
 * A backend slot held by one request. A class rather than closures: one object is made per attempt.
 */
class BackendLease implements Lease {
  private finished = false;
  private prefilled = false;

  constructor(
    private readonly registry: BackendRegistry,
    private readonly scheduler: Scheduler,
    readonly entry: BackendEntry,
    readonly step: RouteStep,
    readonly reasons: readonly RouteReason[],
    private readonly scheduling: SchedulingRequest,
    private readonly tokens: number,
    private readonly uncachedTokens: number,
  ) {
    registry.admit(entry, tokens);
    registry.addPendingPrefill(entry, uncachedTokens);
    // Learn the prompt's prefix blocks as soon as the request is sent (again on success below): a hot system prompt
    // is otherwise routed blind until its first answer completes.
    scheduler.recordServed(scheduling, entry.state.id);
  }

  firstToken(): void {
    if (this.prefilled) return;
    this.prefilled = true;
    this.registry.removePendingPrefill(this.entry, this.uncachedTokens);
  }

  finish(outcome: 'success' | 'failure' | 'aborted'): void {
    if (this.finished) return;
    this.finished = true;
    this.firstToken();
    const { entry, registry } = this;
    registry.release(entry, this.tokens);
    if (outcome === 'success') {
      registry.markSuccess(entry);
      entry.breaker.recordSuccess();
      this.scheduler.recordServed(this.scheduling, entry.state.id);
    } else if (outcome === 'failure') {
      entry.breaker.recordFailure();
    } else {
      entry.breaker.release();
    }
  }
}
