// Which route steps a prompt fits: a pool's context window (config `contextTokens`, else the catalog's for a vLLM
// model; unknown for hosted APIs, taken as fitting) against the prompt estimate plus the requested output. The
// dispatcher passes over a step that cannot hold the request when a later one can, and moves on after an upstream
// `context_length_exceeded` when a later step has a larger window; with no such step the 400 reaches the caller.
import { MODELS } from '../../models/catalog/models.ts';
import type { PoolConfig } from '../config/schema.ts';
import type { RouteStep } from './plan.ts';

export function poolContextTokens(pool: PoolConfig): number | undefined {
  if (pool.contextTokens !== undefined) return pool.contextTokens;
  return pool.kind === 'vllm' ? MODELS[pool.model].maxContext : undefined;
}

/** Context a request needs: its prompt estimate plus the output it asked for (none asked: at least one token). */
export function neededContextTokens(promptTokens: number, body: Record<string, unknown>): number {
  const limit = Number(body['max_tokens'] ?? body['max_completion_tokens'] ?? 1);
  return promptTokens + (Number.isFinite(limit) && limit > 0 ? limit : 1);
}

export function fits(step: RouteStep, needed: number): boolean {
  const context = poolContextTokens(step.pool);
  return context === undefined || needed <= context;
}

/** The first step after `from` whose window is larger than step `from`'s (unknown counts as larger), or null. */
export function largerContextStep(steps: readonly RouteStep[], from: number): number | null {
  const current = poolContextTokens(steps[from]!.pool) ?? Number.POSITIVE_INFINITY;
  for (let index = from + 1; index < steps.length; index++) {
    if ((poolContextTokens(steps[index]!.pool) ?? Number.POSITIVE_INFINITY) > current) return index;
  }
  return null;
}
