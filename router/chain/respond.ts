// Writing a chained answer: JSON with `citations`, `verification` and `chain`, or SSE whose final answer is streamed
// (live from the upstream, or replayed when it was already verified) followed by one chunk carrying `citations`,
// `verification` and `chain` right before `data: [DONE]`. The verification is also a header on JSON answers.
import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';
import type { ServerResponse } from 'node:http';
import type { Span } from '@opentelemetry/api';
import type { StreamChunk } from '../backends/contracts.ts';
import { renderError, toSwitchyardError } from '../../core/errors.ts';
import { finishBuffered, relayHooks } from '../governance/router-adapter.ts';
import type { Lease } from '../routing/dispatcher.ts';
import { createRequestTimer } from '../routing/upstream-body.ts';
import { routeHeaders } from '../routing/response-headers.ts';
import type { ChainDeps, ChainOutcome, ChainServeArgs } from './run.ts';
import {
  answerText,
  dispatchChat,
  StepRun,
  usageOf,
  type ChainCallContext,
  type ModelCall,
  type StepRecord,
  type Usage,
} from './steps.ts';
import type { Verification } from './verify.ts';

export type FinalAnswer = { kind: 'pending' } | { kind: 'buffered'; body: Record<string, unknown>; lease: Lease };

export interface Finish {
  deps: ChainDeps;
  args: ChainServeArgs;
  context: ChainCallContext;
  outcome: ChainOutcome;
  parent: Span;
}

export const HEADER_VERIFICATION = 'x-switchyard-verification';
export const HEADER_CHAIN = 'x-switchyard-chain';

export function verificationHeader(verification: Verification | null): string {
  if (verification === null) return 'off';
  return `${verification.status}; supported=${verification.supported}/${verification.total}${verification.regenerated ? '; regenerated' : ''}`;
}

function totalUsage(steps: readonly StepRecord[]): Usage & { total_tokens: number } {
  const prompt = steps.reduce((sum, step) => sum + step.prompt_tokens, 0);
  const completion = steps.reduce((sum, step) => sum + step.completion_tokens, 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function chainSummary(finish: Finish, startedAt: number): Record<string, unknown> {
  const steps = finish.context.steps;
  return {
    steps,
    prompts: finish.outcome.prompts,
    ms: Math.round((performance.now() - startedAt) * 1000) / 1000,
    cost_usd: Math.round(steps.reduce((sum, step) => sum + step.cost_usd, 0) * 1e9) / 1e9,
  };
}

function recordOutcome(
  finish: Finish,
  text: string,
  model: string,
  verification: Verification | null,
  responseId: unknown,
): void {
  const { deps, args, context, outcome } = finish;
  if (verification !== null) {
    const result =
      verification.error !== undefined
        ? 'error'
        : verification.status === 'verified'
          ? verification.regenerated
            ? 'regenerated_verified'
            : 'verified'
          : 'flagged';
    deps.metrics.verifications.labels({ model, outcome: result }).inc();
    finish.parent.setAttributes({
      'switchyard.verification': verification.status,
      'switchyard.regenerated': verification.regenerated,
    });
  }
  const steps = context.steps;
  deps.requestLog?.append({
    type: 'request',
    id: args.requestId,
    ...(typeof responseId === 'string' ? { response_id: responseId } : {}),
    timestamp: new Date().toISOString(),
    model,
    prompts: outcome.prompts,
    ...(deps.logBodies ? { request: { ...args.body }, response: { choices: [{ message: { content: text } }] } } : {}),
    ...(verification === null
      ? {}
      : { verification: { status: verification.status, regenerated: verification.regenerated } }),
    cost_usd: steps.reduce((sum, step) => sum + step.cost_usd, 0),
    latency_ms: Math.round(performance.now() - args.startedAt),
  });
  deps.logger.info(
    {
      requestId: args.requestId,
      model,
      prompts: outcome.prompts,
      verification: verification?.status ?? 'off',
      steps: steps.length,
    },
    'chain_request',
  );
}

/** Non-streamed: the final answer's body with the chain's fields; usage is the sum over every step. */
export async function respondJson(finish: Finish): Promise<void> {
  const { args, context, outcome } = finish;
  if (outcome.answer.kind !== 'buffered') throw new Error('respondJson needs a buffered answer');
  const { body, lease } = outcome.answer;
  const text = answerText(body);
  body['usage'] = totalUsage(context.steps);
  body['citations'] = outcome.prepared.citations(text);
  body['verification'] = outcome.verification;
  body['chain'] = chainSummary(finish, args.startedAt);
  const served = { pool: lease.entry.state.pool, backendId: lease.entry.state.id };
  const governed = finishBuffered(args.governance, args.admission, body, served);
  const payload = JSON.stringify(body);
  args.response.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    ...routeHeaders(lease, createRequestTimer(args.startedAt), args.requestId),
    [HEADER_VERIFICATION]: verificationHeader(outcome.verification),
    [HEADER_CHAIN]: context.steps.map((step) => step.step).join(','),
    ...governed.headers,
  });
  args.response.end(payload);
  recordOutcome(finish, text, lease.step.model.name, outcome.verification, body['id']);
  if (args.governance) await governed.settle();
}

function writeEvent(response: ServerResponse, payload: unknown): void {
  response.write(`data: ${JSON.stringify(payload)}\n\n`);
}

/** The buffered answer as chunks (role, text in word-sized pieces, finish), as vLLM would have streamed it. */
function replayChunks(body: Record<string, unknown>): StreamChunk[] {
  const base = { id: body['id'], object: 'chat.completion.chunk', created: body['created'], model: body['model'] };
  const choice = (Array.isArray(body['choices']) ? body['choices'][0] : undefined) as
    Record<string, unknown> | undefined;
  const text = answerText(body);
  const pieces = text.match(/\S+\s*|\s+/g) ?? [];
  return [
    {
      ...base,
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
    },
    ...pieces.map((piece) => ({
      ...base,
      choices: [{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }],
    })),
    { ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: choice?.['finish_reason'] ?? 'stop' }] },
  ];
}

/**
 * Streamed: `live` is streamed from the upstream as it is generated (then verified); without it the buffered answer
 * of the outcome is replayed. Errors before the first byte propagate (rendered as JSON by the route); after it the
 * stream ends with an error event and `data: [DONE]`.
 */
export async function respondStream(
  finish: Finish,
  live: ModelCall | undefined,
  verify: (text: string) => Promise<Verification | null>,
): Promise<void> {
  const { args, context, outcome } = finish;
  const response = args.response;
  const wantsUsage = (args.body['stream_options'] as { include_usage?: unknown } | undefined)?.include_usage === true;
  const hooks = relayHooks(args.governance, args.admission);
  const seen: { id: unknown; created: unknown; model: unknown; text: string } = {
    id: undefined,
    created: undefined,
    model: undefined,
    text: '',
  };
  const emit = (chunk: StreamChunk): void => {
    const visible = hooks ? hooks.transform(chunk) : chunk;
    if (visible === null) return;
    seen.id ??= visible['id'];
    seen.created ??= visible['created'];
    seen.model ??= visible['model'];
    const choices = Array.isArray(visible['choices']) ? (visible['choices'] as Array<Record<string, unknown>>) : [];
    const delta = choices[0]?.['delta'] as Record<string, unknown> | undefined;
    if (typeof delta?.['content'] === 'string') seen.text += delta['content'];
    if (visible['usage'] === null) delete visible['usage'];
    writeEvent(response, visible);
  };
  const open = (lease: Lease): void => {
    const headers = {
      ...routeHeaders(lease, createRequestTimer(args.startedAt), args.requestId),
      [HEADER_VERIFICATION]: 'trailing',
    };
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      ...(hooks ? hooks.headers(headers) : headers),
    });
  };

  let lease: Lease;
  if (live === undefined) {
    if (outcome.answer.kind !== 'buffered') throw new Error('respondStream needs a live call or a buffered answer');
    lease = outcome.answer.lease;
    open(lease);
    for (const chunk of replayChunks(outcome.answer.body)) emit(chunk);
  } else {
    const run = new StepRun(context, live.step, live.prompt);
    if (live.prompt) {
      context.metrics.promptRequests
        .labels({ prompt: live.prompt.name, version: live.prompt.version, via: live.prompt.via })
        .inc();
    }
    const { result, dispose } = await dispatchChat(context, live.model, { ...live.body, stream: true }).catch(
      (error: unknown) => {
        run.end({ model: live.model, error });
        throw error;
      },
    );
    lease = result.lease;
    let usage: Usage | undefined;
    try {
      if (!result.streamed) throw new Error('expected a stream');
      open(lease);
      let chunk: StreamChunk | null = result.first;
      for (;;) {
        if (chunk !== null) {
          lease.firstToken();
          if (chunk['usage'] && typeof chunk['usage'] === 'object') usage = usageOf(chunk);
          const choices = Array.isArray(chunk['choices']) ? chunk['choices'] : [];
          if (choices.length > 0) emit(chunk);
          if (hooks?.stop()) break;
        }
        const next = await result.rest.next();
        if (next.done) break;
        chunk = next.value;
      }
      lease.finish('success');
      run.end({ lease, usage: usage ?? { prompt_tokens: 0, completion_tokens: 0 } });
    } catch (error) {
      lease.finish('failure');
      run.end({ lease, error });
      dispose();
      if (!response.headersSent) throw error;
      writeEvent(response, renderError(toSwitchyardError(error)).body);
      response.end('data: [DONE]\n\n');
      await hooks?.finalize(usage, { pool: lease.entry.state.pool, backendId: lease.entry.state.id }, 'error_event');
      recordOutcome(finish, seen.text, lease.step.model.name, null, seen.id);
      return;
    }
    dispose();
  }
  if (hooks) for (const held of hooks.flush()) emit(held);

  const verification = await verify(seen.text);
  outcome.verification = verification;
  const base = { id: seen.id, object: 'chat.completion.chunk', created: seen.created, model: seen.model, choices: [] };
  const usage = totalUsage(context.steps);
  if (wantsUsage) writeEvent(response, { ...base, usage });
  writeEvent(response, {
    ...base,
    citations: outcome.prepared.citations(seen.text),
    verification,
    chain: chainSummary(finish, args.startedAt),
  });
  const served = { pool: lease.entry.state.pool, backendId: lease.entry.state.id };
  hooks?.beforeDone(response, usage, served);
  response.end('data: [DONE]\n\n');
  await hooks?.finalize(usage, served, 'done');
  recordOutcome(finish, seen.text, lease.step.model.name, verification, seen.id);
}
