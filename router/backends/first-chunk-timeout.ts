// Used by the hosted backend (the SDK needs an AbortSignal): a stream must deliver its first chunk within ttftMs
// (a non-streamed answer must arrive whole within it), and the upstream request is aborted
// with a precise reason (ttft timeout vs. the router's own abort) so failover sees the right error.
import { UpstreamTimeoutError } from '../../core/errors.ts';
import type { CancelSignal } from '../resilience/cancellation.ts';

export interface AttemptSignal {
  /** Aborts on the router's signal or on the TTFT timer. */
  signal: AbortSignal;
  /** Call when the first chunk (or the whole non-streamed body) arrived. */
  firstChunkArrived(): void;
  /** Clears the timer and the listener. */
  dispose(): void;
}

export function attemptSignal(parent: CancelSignal, ttftMs: number | null): AttemptSignal {
  const controller = new AbortController();
  const onParentAbort = (): void => controller.abort(parent.reason);
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener('abort', onParentAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  if (ttftMs !== null && !parent.aborted) {
    timer = setTimeout(() => controller.abort(new UpstreamTimeoutError('ttft', ttftMs)), ttftMs);
    timer.unref();
  }
  return {
    signal: controller.signal,
    firstChunkArrived() {
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
    dispose() {
      if (timer) clearTimeout(timer);
      parent.removeEventListener('abort', onParentAbort);
    },
  };
}
