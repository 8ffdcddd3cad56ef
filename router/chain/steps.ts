// One model call of the chain, through the router's own dispatcher (the same scheduling, retries, failover and
// spill-over as any request), timed, costed, logged, traced and counted per step and per prompt version.
import { performance } from 'node:perf_hooks';
import type { ServerResponse } from 'node:http';
import { context as otelContext, trace, SpanStatusCode, type Span, type Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { PoolConfig } from '../config/schema.ts';
import { toSwitchyardError } from '../../core/errors.ts';
import type { DispatchResult, Lease } from '../routing/dispatcher.ts';
import { planRequest, requestInput, runRequest, validateRequest } from '../request/run-request.ts';
import { createRequestTimer } from '../routing/upstream-body.ts';
import type { RouterRuntime } from '../runtime/runtime.ts';
import { requestSignal } from '../resilience/request-signal.ts';
import { gpuHourlyPrice, loadPrices, type PriceFile } from '../../models/catalog/prices.ts';
import type { ChainMetrics } from './metrics.ts';
import type { RenderedStepPrompt } from './prompt-store.ts';

export type StepName = 'analyze' | 'hyde' | 'retrieve' | 'answer' | 'verify' | 'regenerate';

/** What the response's `chain.steps` and the request log say about each step. */
export interface StepRecord {
  step: StepName;
  model: string | null;
  backend: string | null;
  prompt: string | null;
  ms: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
  status: 'ok' | 'error';
  attempt?: number;
  error?: string;
}

export interface Usage extends Record<string, unknown> {
  prompt_tokens: number;
  completion_tokens: number;
}

let prices: PriceFile | null | undefined;
function priceFile(): PriceFile | null {
  if (prices === undefined) {
    try {
      prices = loadPrices();
    } catch {
      prices = null;
    }
  }
  return prices;
}

/**
 * Estimated cost of one call: hosted pools by tokens (`costPer1MTokens`); self-hosted pools by the GPU time the call
 * held (GPU $/h × tensor parallelism × wall time) — an upper bound, since a vLLM replica batches many requests.
 */
export function stepCostUsd(pool: PoolConfig | undefined, usage: Usage, ms: number): number {
  if (pool === undefined) return 0;
  if (pool.kind === 'openai') return ((usage.prompt_tokens + usage.completion_tokens) * pool.costPer1MTokens) / 1e6;
  if (pool.kind === 'llamacpp') return (pool.costPerHour * ms) / 3_600_000;
  const file = priceFile();
  if (file === null) return 0;
  try {
    return (gpuHourlyPrice(file, pool.gpu, pool.tensorParallel) * ms) / 3_600_000;
  } catch {
    return 0;
  }
}

export function usageOf(body: unknown): Usage {
  const usage = (body as { usage?: Record<string, unknown> } | undefined)?.usage;
  return {
    prompt_tokens: typeof usage?.['prompt_tokens'] === 'number' ? usage['prompt_tokens'] : 0,
    completion_tokens: typeof usage?.['completion_tokens'] === 'number' ? usage['completion_tokens'] : 0,
  };
}

export function answerText(body: Record<string, unknown>): string {
  const choices = Array.isArray(body['choices']) ? (body['choices'] as Array<Record<string, unknown>>) : [];
  const message = choices[0]?.['message'] as Record<string, unknown> | undefined;
  return typeof message?.['content'] === 'string' ? message['content'] : '';
}

export interface ChainCallContext {
  runtime: RouterRuntime;
  requestId: string;
  response: ServerResponse;
  logger: Logger;
  tracer: Tracer;
  parent: Span;
  metrics: ChainMetrics;
  steps: StepRecord[];
  sessionKey: string | undefined;
}

/** A step in progress: `end` records it (time, cost, log line, span, metrics) exactly once. */
export class StepRun {
  private readonly started = performance.now();
  private readonly span: Span;
  private ended = false;

  constructor(
    private readonly context: ChainCallContext,
    readonly step: StepName,
    private readonly prompt: RenderedStepPrompt | undefined,
    private readonly attempt?: number,
  ) {
    this.span = context.tracer.startSpan(
      `chain.${step}`,
      {
        attributes: {
          'switchyard.chain.step': step,
          'switchyard.request_id': context.requestId,
          ...(prompt ? { 'switchyard.prompt.name': prompt.name, 'switchyard.prompt.version': prompt.version } : {}),
        },
      },
      trace.setSpan(otelContext.active(), context.parent),
    );
  }

  end(outcome: { model?: string; lease?: Lease; usage?: Usage; error?: unknown }): StepRecord {
    const ms = performance.now() - this.started;
    const usage = outcome.usage ?? { prompt_tokens: 0, completion_tokens: 0 };
    const poolName = outcome.lease?.entry.state.pool;
    const pool = this.context.runtime.config.pools.find((candidate) => candidate.name === poolName);
    const cost = stepCostUsd(pool, usage, ms);
    const model = outcome.lease?.step.model.name ?? outcome.model ?? null;
    const record: StepRecord = {
      step: this.step,
      model,
      backend: outcome.lease?.entry.state.id ?? null,
      prompt: this.prompt ? `${this.prompt.name}@${this.prompt.version}` : null,
      ms: Math.round(ms * 1000) / 1000,
      ...usage,
      cost_usd: Math.round(cost * 1e9) / 1e9,
      status: outcome.error === undefined ? 'ok' : 'error',
      ...(this.attempt === undefined ? {} : { attempt: this.attempt }),
      ...(outcome.error === undefined ? {} : { error: toSwitchyardError(outcome.error).message }),
    };
    if (this.ended) return record;
    this.ended = true;
    this.context.steps.push(record);
    const metrics = this.context.metrics;
    metrics.stepDuration.labels({ step: this.step, model: model ?? 'none' }).observe(ms / 1000);
    metrics.stepCost.labels({ step: this.step, model: model ?? 'none' }).inc(cost);
    if (this.prompt) {
      metrics.promptDuration.labels({ prompt: this.prompt.name, version: this.prompt.version }).observe(ms / 1000);
      metrics.promptCost.labels({ prompt: this.prompt.name, version: this.prompt.version }).inc(cost);
    }
    this.span.setAttributes({
      'gen_ai.request.model': model ?? '',
      'gen_ai.usage.input_tokens': usage.prompt_tokens,
      'gen_ai.usage.output_tokens': usage.completion_tokens,
      'switchyard.cost_usd': record.cost_usd,
      ...(record.backend ? { 'switchyard.backend': record.backend } : {}),
    });
    if (record.error !== undefined) this.span.setStatus({ code: SpanStatusCode.ERROR, message: record.error });
    this.span.end();
    this.context.logger.info({ requestId: this.context.requestId, ...record }, 'chain_step');
    return record;
  }
}

export interface ModelCall {
  step: StepName;
  model: string;
  body: Record<string, unknown>;
  prompt?: RenderedStepPrompt;
  attempt?: number;
}

/** Builds the dispatch input for a chat body and runs it (buffered or streamed as `body.stream` says). */
export async function dispatchChat(
  context: ChainCallContext,
  model: string,
  rawBody: Record<string, unknown>,
): Promise<{ result: DispatchResult; dispose(): void }> {
  const { runtime } = context;
  const { stream_options: streamOptions, ...rest } = rawBody;
  // A buffered step of a streamed request must not carry the caller's stream options (vLLM rejects them).
  const validated = validateRequest(
    'chat',
    rest['stream'] === true ? { ...rest, stream_options: streamOptions, model } : { ...rest, model },
    runtime.config.scheduling.prefixBlockTokens,
  );
  const plan = planRequest(runtime.planner, validated);
  const { signal, dispose } = requestSignal(context.response, plan.timeouts.totalMs);
  try {
    const input = requestInput(validated, plan, {
      requestId: context.requestId,
      sessionKey: context.sessionKey,
      signal,
      timer: createRequestTimer(),
    });
    return { result: await runRequest(runtime.dispatcher, input), dispose };
  } catch (error) {
    dispose();
    throw error;
  }
}

/** A buffered model call as one recorded step. */
export async function callModel(
  context: ChainCallContext,
  call: ModelCall,
): Promise<{ body: Record<string, unknown>; record: StepRecord; lease: Lease }> {
  const run = new StepRun(context, call.step, call.prompt, call.attempt);
  if (call.prompt) {
    context.metrics.promptRequests
      .labels({ prompt: call.prompt.name, version: call.prompt.version, via: call.prompt.via })
      .inc();
  }
  let lease: Lease | undefined;
  try {
    const { result, dispose } = await dispatchChat(context, call.model, { ...call.body, stream: false });
    dispose();
    lease = result.lease;
    if (result.streamed) throw new Error('expected a buffered answer');
    result.lease.finish('success');
    const usage = usageOf(result.body);
    return { body: result.body, record: run.end({ lease, usage }), lease };
  } catch (error) {
    run.end({ model: call.model, ...(lease ? { lease } : {}), error });
    throw error;
  }
}
