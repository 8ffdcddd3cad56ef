// A request's cancellation: aborted when the client disconnects or the total deadline passes, with the
// SwitchyardError to surface as its reason. The router needs one per request, and a real AbortController costs
// ~2 µs to create plus ~2 µs per listener added and removed (EventTarget machinery), several times per request;
// this is a plain object with the same observable behaviour for the part of AbortSignal the router uses.
// undici accepts it as a request signal (it only needs addEventListener/removeEventListener); the hosted backend
// hands the openai SDK a genuine AbortSignal of its own per attempt (router/backends/first-chunk-timeout.ts).

/** The part of AbortSignal the router relies on. A real AbortSignal satisfies it, so callers may pass either. */
export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export class Cancellation implements CancelSignal {
  aborted = false;
  reason: unknown = undefined;
  private listeners: Array<() => void> | undefined;

  /** Marks it aborted (first reason wins) and calls each listener once, in the order they were added. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (!listeners) return;
    for (const listener of listeners) listener();
  }

  // Listeners run at most once whatever `options` say: abort happens once.
  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.aborted) return;
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const listeners = this.listeners;
    if (!listeners) return;
    const index = listeners.indexOf(listener);
    if (index !== -1) listeners.splice(index, 1);
  }
}
