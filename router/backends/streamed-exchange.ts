// One streamed HTTP exchange through undici's low-level dispatch API: resolves when the response head arrives, with
// the status, the headers and the body as an async iterator of the pieces the socket delivered. Not `request()`:
// its body is a Readable consumed by an async iterator, which per SSE event costs the Readable's buffering, its
// 'readable' events and a promise per read. Here a piece goes from undici's callback straight to the
// waiting consumer (one promise when it waits, none when pieces are already queued). Backpressure: undici is paused
// while the consumer is more than HIGH_WATER pieces behind, and resumed once it has caught up.
import type { Dispatcher } from 'undici';
import type { CancelSignal } from '../resilience/cancellation.ts';
import { CancellableHandler, startExchange, type Headers } from './dispatch-exchange.ts';
import type { UpstreamClock } from './contracts.ts';

export interface StreamedExchange {
  statusCode: number;
  headers: Headers;
  /** The body's pieces; `return()` (leaving a for-await early) aborts the request, closing its connection. */
  body: AsyncIterableIterator<Buffer>;
}

const HIGH_WATER = 64;
const LOW_WATER = 16;

/**
 * Sends `options`; resolves at the response head, or rejects with undici's error (timeouts keep their UND_ERR_*
 * codes) or, once `signal` aborts, with its reason. After the head, an abort or an upstream failure surfaces as the
 * body iterator's rejection.
 */
export function streamedExchange(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  signal: CancelSignal,
  clock?: UpstreamClock,
): Promise<StreamedExchange> {
  return startExchange<StreamedExchange>(
    dispatcher,
    options,
    signal,
    (resolve, reject) => new StreamHandler(signal, clock, resolve, reject),
  );
}

type Waiter = { resolve: (result: IteratorResult<Buffer>) => void; reject: (error: unknown) => void };

/** undici's dispatch handler and the body iterator in one object. */
class StreamHandler extends CancellableHandler implements AsyncIterableIterator<Buffer> {
  private headSettled = false;
  private readonly pieces: Buffer[] = [];
  private head = 0;
  private waiter: Waiter | undefined;
  private ended = false;
  private failure: { error: unknown } | undefined;

  constructor(
    signal: CancelSignal,
    clock: UpstreamClock | undefined,
    private readonly resolveHead: (exchange: StreamedExchange) => void,
    private readonly rejectHead: (error: unknown) => void,
  ) {
    super(signal, clock);
  }

  // ---------------------------------------------------------------- undici's side
  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Headers): void {
    this.headSettled = true;
    this.resolveHead({ statusCode, headers, body: this });
  }

  onResponseData(controller: Dispatcher.DispatchController, piece: Buffer): void {
    if (this.clock && this.clock.answeredAt === undefined) this.clock.answeredAt = performance.now();
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter.resolve({ value: piece, done: false });
      return;
    }
    this.pieces.push(piece);
    if (this.pieces.length - this.head > HIGH_WATER && !controller.paused) controller.pause();
  }

  onResponseEnd(): void {
    this.detach();
    this.ended = true;
    this.wakeWaiter();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }

  // ---------------------------------------------------------------- the consumer's side
  next(): Promise<IteratorResult<Buffer>> {
    if (this.head < this.pieces.length) {
      const piece = this.pieces[this.head]!;
      this.pieces[this.head++] = undefined as unknown as Buffer;
      if (this.head === this.pieces.length) {
        this.pieces.length = 0;
        this.head = 0;
      }
      const controller = this.controller;
      if (controller?.paused && this.pieces.length - this.head <= LOW_WATER) controller.resume();
      return Promise.resolve({ value: piece, done: false });
    }
    if (this.failure) return Promise.reject(this.failure.error);
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** The consumer stopped early: abort the request (undici closes the connection, so the engine stops too). */
  return(): Promise<IteratorResult<Buffer>> {
    if (!this.ended && !this.failure) {
      this.detach();
      this.failure = { error: new Error('stream consumer stopped') };
      this.controller?.abort(new Error('stream consumer stopped'));
    }
    this.ended = true;
    this.pieces.length = 0;
    this.head = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Buffer> {
    return this;
  }

  // ---------------------------------------------------------------- both
  protected cancelled(reason: unknown): void {
    this.fail(reason);
  }

  private fail(error: unknown): void {
    if (this.ended || this.failure) return;
    this.detach();
    this.failure = { error };
    if (!this.headSettled) {
      this.headSettled = true;
      this.rejectHead(error);
    }
    this.wakeWaiter();
  }

  private wakeWaiter(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = undefined;
    if (this.failure) waiter.reject(this.failure.error);
    else waiter.resolve({ value: undefined, done: true });
  }
}
