// Session affinity: a conversation (x-session-id header or the OpenAI `user` field) keeps going to the backend that
// served its previous turn, whose prefix cache holds the history. Bounded map with TTL.
import type { BackendState, SchedulingRequest, ScorerPlugin } from '../../../contracts.ts';

export interface SessionAffinityScorer extends ScorerPlugin {
  recordServed(request: SchedulingRequest, backendId: string): void;
  readonly size: number;
}

export function createSessionAffinityScorer(options: {
  ttlMs: number;
  capacity: number;
  clock: () => number;
}): SessionAffinityScorer {
  const sessions = new Map<string, { backendId: string; seenAt: number }>();
  return {
    name: 'session-affinity',
    get size() {
      return sessions.size;
    },
    score(request: SchedulingRequest, candidates: readonly BackendState[]): number[] {
      const key = request.sessionKey;
      const entry = key === undefined ? undefined : sessions.get(key);
      if (!entry || options.clock() - entry.seenAt > options.ttlMs) return candidates.map(() => 0);
      return candidates.map((backend) => (backend.id === entry.backendId ? 1 : 0));
    },
    recordServed(request, backendId) {
      const key = request.sessionKey;
      if (key === undefined) return;
      sessions.delete(key);
      sessions.set(key, { backendId, seenAt: options.clock() });
      while (sessions.size > options.capacity) {
        const oldest = sessions.keys().next();
        if (oldest.done) break;
        sessions.delete(oldest.value);
      }
    },
  };
}
