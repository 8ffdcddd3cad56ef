// Runs a prepared generation on the engine and writes the HTTP answer the way vLLM does: SSE chunks
// (`chat.completion.chunk` / `text_completion`), the finish chunk, the optional usage chunk and `data: [DONE]`, or
// one JSON body with `usage`. Faults that act mid-answer (hang, drop, crash) are applied here.
import type { Response } from 'express';
import type { GenerationEngine, RequestHandle, RequestTimings } from './contracts.ts';
import { type Profile, SimError, renderError } from './errors.ts';
import type { RequestFaults } from './faults.ts';
import type { SimMetrics } from './metrics.ts';
import { chatLogprobs, completionLogprobs } from './logprobs.ts';
import type { PreparedGeneration } from './prepare.ts';

export interface RespondContext {
  profile: Profile;
  engine: GenerationEngine;
  metrics: SimMetrics | undefined;
  /** Crash the replica (process exit, or abrupt server close in-process). */
  crash(): void;
}

interface Usage {
  prompt_tokens: number;
  total_tokens: number;
  completion_tokens: number;
  prompt_tokens_details: { cached_tokens: number } | null;
  completion_tokens_details?: { reasoning_tokens: number };
}

function usageOf(
  prepared: PreparedGeneration,
  completionTokens: number,
  profile: Profile,
  cachedTokens: number,
): Usage {
  const promptTokens = prepared.promptTokens.length;
  const usage: Usage = {
    prompt_tokens: promptTokens,
    total_tokens: promptTokens + completionTokens,
    completion_tokens: completionTokens,
    prompt_tokens_details: profile === 'hosted' ? { cached_tokens: cachedTokens } : null,
  };
  if (profile === 'hosted') usage.completion_tokens_details = { reasoning_tokens: 0 };
  return usage;
}

export function runGeneration(
  prepared: PreparedGeneration,
  faults: RequestFaults,
  context: RespondContext,
  response: Response,
): void {
  const { plan } = prepared;
  const outputTokens = plan.pieces.length;
  const started = { headers: false };
  let forwarded = 0;
  let hung = false;
  let closed = false;
  let handle: RequestHandle | undefined;

  const object = prepared.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  const base = { id: prepared.id, object, created: prepared.created, model: prepared.model };
  let arrivalMs = 0;
  let eventTimeMs: number | undefined;
  const write = (payload: unknown): void => {
    if (closed) return;
    // SSE comment lines are ignored by every client; only sent when asked for with `x-sim-timings: 1`.
    const comment =
      prepared.simTimings && eventTimeMs !== undefined ? `: sim arrival=${arrivalMs} t=${eventTimeMs}\n` : '';
    response.write(`${comment}data: ${JSON.stringify(payload)}\n\n`);
  };
  const startStream = (): void => {
    if (started.headers) return;
    started.headers = true;
    response.status(200);
    response.setHeader('content-type', 'text/event-stream; charset=utf-8');
    response.setHeader('cache-control', 'no-cache');
    response.flushHeaders();
    if (prepared.kind === 'chat') {
      write({
        ...base,
        choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
      });
    } else if (prepared.echoPrefix !== undefined) {
      write({
        ...base,
        choices: [{ index: 0, text: prepared.echoPrefix, logprobs: null, finish_reason: null, stop_reason: null }],
      });
    }
  };
  const chunkFor = (index: number, last: boolean): unknown => {
    const piece = plan.pieces[index] ?? '';
    const finish = last
      ? { finish_reason: plan.finishReason, stop_reason: plan.stopReason ?? null }
      : { finish_reason: null };
    const { logprobs } = prepared;
    let choice: Record<string, unknown>;
    if (prepared.kind === 'completion') {
      const offset = (prepared.echoPrefix?.length ?? 0) + plan.pieces.slice(0, index).join('').length;
      const tokenLogprobs = logprobs ? completionLogprobs(logprobs.seed, [piece], index, logprobs.top, offset) : null;
      choice = { index: 0, text: piece, logprobs: tokenLogprobs, ...finish };
    } else if (plan.toolCall) {
      const call =
        index === 0
          ? {
              id: prepared.toolCallId,
              type: 'function',
              index: 0,
              function: { name: plan.toolCall.name, arguments: piece },
            }
          : { index: 0, function: { arguments: piece } };
      choice = { index: 0, delta: { tool_calls: [call] }, logprobs: null, ...finish };
    } else {
      const tokenLogprobs = logprobs ? chatLogprobs(logprobs.seed, [piece], index, logprobs.top) : null;
      choice = { index: 0, delta: { content: piece }, logprobs: tokenLogprobs, ...finish };
    }
    const chunk: Record<string, unknown> = { ...base, choices: [choice] };
    if (prepared.continuousUsage) chunk['usage'] = usageOf(prepared, index + 1, context.profile, 0);
    return chunk;
  };

  const applyMidStreamFaults = (): boolean => {
    if (faults.crashAfterTokens !== undefined && forwarded >= faults.crashAfterTokens) {
      context.crash();
      return true;
    }
    if (faults.dropAfterTokens !== undefined && forwarded >= faults.dropAfterTokens) {
      closed = true;
      handle?.abort();
      response.socket?.destroy();
      return true;
    }
    if (faults.hangAfterTokens !== undefined && forwarded >= faults.hangAfterTokens) {
      hung = true;
      return true;
    }
    return false;
  };

  const onToken = (index: number, atMs: number): void => {
    if (closed || hung) return;
    eventTimeMs = atMs;
    if (prepared.stream) {
      startStream();
      write(chunkFor(index, index === outputTokens - 1));
    }
    forwarded = index + 1;
    applyMidStreamFaults();
  };

  const onFinish = (cause: 'completed' | 'aborted', timings: RequestTimings): void => {
    if (cause === 'aborted' || closed) return;
    eventTimeMs = timings.finishedMs;
    context.metrics?.recordFinished(timings, plan.finishReason, prepared.maxTokens);
    if (hung) return;
    const usage = usageOf(prepared, timings.outputTokens, context.profile, timings.cachedPromptTokens);
    if (prepared.stream) {
      startStream();
      if (outputTokens === 0) {
        const empty =
          prepared.kind === 'chat'
            ? { index: 0, delta: { content: '' }, logprobs: null, finish_reason: plan.finishReason, stop_reason: null }
            : { index: 0, text: '', logprobs: null, finish_reason: plan.finishReason, stop_reason: null };
        write({ ...base, choices: [empty] });
      }
      if (prepared.includeUsage) write({ ...base, choices: [], usage });
      if (!closed) response.end('data: [DONE]\n\n');
      closed = true;
      return;
    }
    closed = true;
    response.status(200).json(nonStreamBody(prepared, usage, context.profile));
  };

  // A write racing a destroyed socket must not become an unhandled 'error' event.
  response.on('error', () => {
    closed = true;
    handle?.abort();
  });
  response.on('close', () => {
    if (!response.writableFinished) {
      closed = true;
      handle?.abort();
    }
  });

  // Faults that act before the first token.
  if (applyMidStreamFaults()) return;
  const submit = (): void => {
    if (closed) return;
    try {
      handle = context.engine.submit(
        {
          id: prepared.id,
          promptTokens: prepared.promptTokens,
          outputTokens,
          ...(prepared.lora ? { lora: prepared.lora } : {}),
        },
        { onToken, onFinish },
      );
      arrivalMs = handle.arrivalMs;
    } catch (error) {
      closed = true;
      const message = error instanceof Error ? error.message : String(error);
      response.status(500).json(renderError(new SimError('internal', message), context.profile));
    }
  };
  if (faults.latencyMs > 0) context.engine.clock.setTimer(faults.latencyMs, submit);
  else submit();
}

function nonStreamBody(prepared: PreparedGeneration, usage: Usage, profile: Profile): Record<string, unknown> {
  const { plan, logprobs } = prepared;
  const text = plan.pieces.join('');
  const base = { id: prepared.id, created: prepared.created, model: prepared.model };
  if (prepared.kind === 'completion') {
    return {
      ...base,
      object: 'text_completion',
      choices: [
        {
          index: 0,
          text: (prepared.echoPrefix ?? '') + text,
          logprobs: logprobs
            ? completionLogprobs(logprobs.seed, plan.pieces, 0, logprobs.top, prepared.echoPrefix?.length ?? 0)
            : null,
          finish_reason: plan.finishReason,
          stop_reason: plan.stopReason ?? null,
          prompt_logprobs: null,
        },
      ],
      usage,
      ...(profile === 'vllm' ? { kv_transfer_params: null } : {}),
    };
  }
  const toolCalls = plan.toolCall
    ? [{ id: prepared.toolCallId, type: 'function', function: { name: plan.toolCall.name, arguments: text } }]
    : [];
  const message =
    profile === 'hosted'
      ? {
          role: 'assistant',
          content: plan.toolCall ? null : text,
          refusal: null,
          annotations: [],
          ...(plan.toolCall ? { tool_calls: toolCalls } : {}),
        }
      : { role: 'assistant', reasoning_content: null, content: plan.toolCall ? null : text, tool_calls: toolCalls };
  const choiceLogprobs = logprobs && !plan.toolCall ? chatLogprobs(logprobs.seed, plan.pieces, 0, logprobs.top) : null;
  const choice: Record<string, unknown> = {
    index: 0,
    message,
    logprobs: choiceLogprobs,
    finish_reason: plan.finishReason,
  };
  if (profile === 'vllm') choice['stop_reason'] = plan.stopReason ?? null;
  return {
    ...base,
    object: 'chat.completion',
    choices: [choice],
    usage,
    ...(profile === 'vllm'
      ? { prompt_logprobs: null, kv_transfer_params: null }
      : { service_tier: 'default', system_fingerprint: 'fp_sim' }),
  };
}
