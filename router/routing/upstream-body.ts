// The body one attempt sends upstream, derived from the client's body (a shallow copy; unknown fields kept):
// the model name mapped for the pool, usage forced on for streams, and for a mid-stream continuation the partial
// answer appended as an assistant prefix (vLLM continues it exactly with `continue_final_message`).
import { performance } from 'node:perf_hooks';
import type { BackendKind } from '../scheduling-facade/index.ts';
import type { Endpoint } from '../backends/contracts.ts';
import type { RouteStep } from './plan.ts';

/** Where a request's time goes: the router's own overhead is total − upstream − waits (backoff sleeps). */
export interface RequestTimer {
  readonly startedAt: number;
  dispatchedAt: number | undefined;
  upstreamMs: number;
  waitMs: number;
}

export function createRequestTimer(startedAt: number = performance.now()): RequestTimer {
  return { startedAt, dispatchedAt: undefined, upstreamMs: 0, waitMs: 0 };
}

export function overheadMs(timer: RequestTimer, now: number = performance.now()): number {
  return Math.max(0, now - timer.startedAt - timer.upstreamMs - timer.waitMs);
}

export function upstreamModelName(step: RouteStep): string {
  const pool = step.pool;
  if (pool.kind === 'vllm' || pool.kind === 'llamacpp') return pool.servedModel ?? step.model.name;
  return pool.modelMap[step.model.name] ?? pool.model ?? step.model.name;
}

export function upstreamBody(
  endpoint: Endpoint,
  body: Readonly<Record<string, unknown>>,
  step: RouteStep,
  kind: BackendKind,
  continuation?: { prefix: string; emittedTokens: number },
): Record<string, unknown> {
  const result: Record<string, unknown> = { ...body, model: upstreamModelName(step) };
  if (result['stream'] === true) {
    const options = (body['stream_options'] as Record<string, unknown> | null | undefined) ?? {};
    result['stream_options'] = { ...options, include_usage: true };
  }
  if (continuation && continuation.prefix !== '') {
    if (endpoint === 'chat' && Array.isArray(body['messages'])) {
      result['messages'] = [...(body['messages'] as unknown[]), { role: 'assistant', content: continuation.prefix }];
      if (kind === 'vllm') {
        result['continue_final_message'] = true;
        result['add_generation_prompt'] = false;
      }
    } else if (endpoint === 'completions' && typeof body['prompt'] === 'string') {
      result['prompt'] = body['prompt'] + continuation.prefix;
    }
    for (const key of ['max_tokens', 'max_completion_tokens'] as const) {
      const limit = body[key];
      if (typeof limit === 'number') result[key] = Math.max(1, limit - continuation.emittedTokens);
    }
  }
  return result;
}

/**
 * The client's JSON text, when the body `upstreamBody` made is the client's body unchanged: the same model name, not a
 * stream (streams get usage forced on) and no continuation. Sending that text saves serialising the body again per
 * attempt; it is the same JSON to the upstream.
 */
export function unchangedBodyText(
  client: Readonly<Record<string, unknown>>,
  upstream: Readonly<Record<string, unknown>>,
  text: string | undefined,
  continuation: { prefix: string; emittedTokens: number } | undefined,
): string | undefined {
  if (text === undefined || continuation !== undefined || upstream['stream'] === true) return undefined;
  return upstream['model'] === client['model'] ? text : undefined;
}
