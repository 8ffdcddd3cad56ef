// LoRA affinity: send a request for adapter `a` where `a` already runs, else where a slot is free, and avoid replicas
// whose `max_loras` slots are all taken by other adapters (the request would wait for a slot, and a new adapter evicts
// another one from the replica's caches). Formula and sources in README.md.
import type { BackendState, SchedulingRequest, ScorerPlugin } from '../../../contracts.ts';
import { UNKNOWN_SCORE } from '../../normalize.ts';

export const LORA_SCORES = {
  running: 1,
  waiting: 0.8,
  freeSlot: 0.6,
  /** Full replicas: at most this, scaled by max_lora / active adapters (more competitors → likelier eviction). */
  full: 0.2,
  /** Added when the adapter is registered on the replica (no dynamic load needed). */
  registered: 0.1,
} as const;

export interface LoraAffinityOptions {
  /** A replica the router sent adapter `a` to within this many ms counts as running `a` (covers scrape lag). */
  recentMs: number;
  clock: () => number;
  /** Bound of the remembered (adapter, replica) pairs. */
  capacity: number;
}

export function createLoraAffinityScorer(options: LoraAffinityOptions): ScorerPlugin {
  /** `adapter \0 backend` → clock ms of the last request the router sent there. */
  const recent = new Map<string, number>();
  return {
    name: 'lora-affinity',
    score(request: SchedulingRequest, candidates: readonly BackendState[]): number[] {
      const adapter = request.adapter;
      if (adapter === undefined) return candidates.map(() => 1);
      const now = options.clock();
      return candidates.map((backend) => {
        const sentAt = recent.get(`${adapter}\u0000${backend.id}`);
        if (sentAt !== undefined && now - sentAt <= options.recentMs) return LORA_SCORES.running;
        const lora = backend.metrics?.lora;
        if (!lora) return UNKNOWN_SCORE;
        if (lora.running.includes(adapter)) return LORA_SCORES.running;
        if (lora.waiting.includes(adapter)) return LORA_SCORES.waiting;
        const bonus = backend.registeredAdapters?.has(adapter) ? LORA_SCORES.registered : 0;
        const active = new Set([...lora.running, ...lora.waiting]).size;
        if (active < lora.maxLoras) return LORA_SCORES.freeSlot + bonus;
        return (LORA_SCORES.full * lora.maxLoras) / Math.max(1, active) + bonus;
      });
    },
    recordServed(request: SchedulingRequest, backendId: string): void {
      if (request.adapter === undefined) return;
      const key = `${request.adapter}\u0000${backendId}`;
      recent.delete(key);
      recent.set(key, options.clock());
      while (recent.size > options.capacity) {
        const oldest = recent.keys().next();
        if (oldest.done) break;
        recent.delete(oldest.value);
      }
    },
  };
}
