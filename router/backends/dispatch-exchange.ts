// What the two undici dispatch handlers (buffered-exchange.ts, streamed-exchange.ts) share: starting the exchange
// unless the request is already cancelled, and tying the dispatch to the request's Cancellation — an abort while
// queued for a connection cancels it before anything is sent; an abort later aborts it, and the handler settles
// with the cancellation's reason. Classes rather than closures: one handler object per request.
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import type { CancelSignal } from '../resilience/cancellation.ts';
import type { UpstreamClock } from './contracts.ts';

export type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** Rejects at once with the cancellation's reason, or dispatches with the handler `create` makes. */
export function startExchange<T>(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  signal: CancelSignal,
  create: (resolve: (value: T) => void, reject: (error: unknown) => void) => Dispatcher.DispatchHandler,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    dispatcher.dispatch(options, create(resolve, reject));
  });
}

export abstract class CancellableHandler implements Dispatcher.DispatchHandler {
  protected controller: Dispatcher.DispatchController | undefined;
  private readonly abortListener: () => void;

  constructor(
    protected readonly signal: CancelSignal,
    protected readonly clock: UpstreamClock | undefined,
  ) {
    this.abortListener = this.onAbort.bind(this);
    signal.addEventListener('abort', this.abortListener, { once: true });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.clock) this.clock.sentAt = performance.now();
    if (this.signal.aborted) controller.abort(this.abortReason());
  }

  /** The request was cancelled: settle with `reason` (the dispatch is already being aborted). */
  protected abstract cancelled(reason: unknown): void;

  /** Stop listening for the cancellation: call once the exchange has settled. */
  protected detach(): void {
    this.signal.removeEventListener('abort', this.abortListener);
  }

  private abortReason(): Error {
    return this.signal.reason instanceof Error ? this.signal.reason : new Error('aborted');
  }

  private onAbort(): void {
    this.controller?.abort(this.abortReason());
    this.cancelled(this.signal.reason);
  }
}
