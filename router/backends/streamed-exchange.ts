// One streamed HTTP exchange through undici's low-level dispatch API: resolves when the response head arrives, with
// the status, the headers and the body as an async iterator of the pieces the socket delivered — or, once `decode`
// is called, of the items (SSE events) a decoder makes of them inside undici's data callback. Not `request()`:
// its body is a Readable consumed by an async iterator, which per SSE event costs the Readable's buffering, its
// 'readable' events and a promise per read; nor a generator over this iterator, which costs two more promise hops
// per event. Here an event goes from undici's callback straight to the waiting consumer (one promise when it waits,
// none when events are already queued). Backpressure: undici is paused while the consumer is more than HIGH_WATER
// items behind, and resumed once it has caught up.
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import type { CancelSignal } from '../resilience/cancellation.ts';
import { CancellableHandler, startExchange, type Headers } from './dispatch-exchange.ts';
import type { UpstreamClock } from './contracts.ts';

/** Turns body pieces into items, synchronously, in undici's data callback. */
export interface PieceDecoder<T> {
  /** Appends the items `piece` completes to `out`; throws when the piece is malformed (the request is then aborted). */
  push(piece: Buffer, out: T[]): void;
  /** At the body's end: appends what is left, or throws when the body ended where it must not. */
  end(out: T[]): void;
  /** The error the consumer sees for an upstream failure, a cancellation or a throw of `push` / `end`. */
  mapError(error: unknown): unknown;
}

export interface StreamedExchange {
  statusCode: number;
  headers: Headers;
  /** The body's pieces; `return()` (leaving a for-await early) aborts the request, closing its connection. */
  body: AsyncIterableIterator<Buffer>;
  /** The body as `decoder`'s items instead of pieces (pieces already queued are decoded first); call at most once. */
  decode<T>(decoder: PieceDecoder<T>): AsyncIterableIterator<T>;
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

type Waiter = { resolve: (result: IteratorResult<unknown>) => void; reject: (error: unknown) => void };

const DONE: IteratorResult<never> = { value: undefined, done: true };

/** undici's dispatch handler and the body iterator in one object (items are Buffers until `decode`). */
class StreamHandler extends CancellableHandler implements AsyncIterableIterator<unknown> {
  private headSettled = false;
  private readonly items: unknown[] = [];
  private head = 0;
  private waiter: Waiter | undefined;
  private ended = false;
  private failure: { error: unknown } | undefined;
  private decoder: PieceDecoder<unknown> | undefined;

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
    this.resolveHead({
      statusCode,
      headers,
      body: this as AsyncIterableIterator<Buffer>,
      decode: <T>(decoder: PieceDecoder<T>) =>
        this.decodeWith(decoder as PieceDecoder<unknown>) as AsyncIterableIterator<T>,
    });
  }

  onResponseData(controller: Dispatcher.DispatchController, piece: Buffer): void {
    if (this.clock && this.clock.answeredAt === undefined) this.clock.answeredAt = performance.now();
    if (this.failure) return;
    const decoder = this.decoder;
    if (decoder) {
      try {
        decoder.push(piece, this.items);
      } catch (error) {
        // Items decoded before the bad one are still delivered, then the error.
        this.fail(error);
        controller.abort(error instanceof Error ? error : new Error('malformed stream'));
        return;
      }
    } else this.items.push(piece);
    const waiter = this.waiter;
    if (waiter && this.head < this.items.length) {
      this.waiter = undefined;
      waiter.resolve({ value: this.take(), done: false });
      return;
    }
    if (this.items.length - this.head > HIGH_WATER && !controller.paused) controller.pause();
  }

  onResponseEnd(): void {
    this.detach();
    if (this.decoder && !this.failure) {
      try {
        this.decoder.end(this.items);
      } catch (error) {
        this.failure = { error: this.decoder.mapError(error) };
      }
    }
    this.ended = true;
    this.wakeWaiter();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }

  // ---------------------------------------------------------------- the consumer's side
  next(): Promise<IteratorResult<unknown>> {
    if (this.head < this.items.length) {
      const value = this.take();
      const controller = this.controller;
      if (controller?.paused && this.items.length - this.head <= LOW_WATER) controller.resume();
      return Promise.resolve({ value, done: false });
    }
    if (this.failure) return Promise.reject(this.failure.error);
    if (this.ended) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** The consumer stopped early: abort the request (undici closes the connection, so the engine stops too). */
  return(): Promise<IteratorResult<unknown>> {
    if (!this.ended && !this.failure) {
      this.detach();
      this.failure = { error: new Error('stream consumer stopped') };
      this.controller?.abort(new Error('stream consumer stopped'));
    }
    this.ended = true;
    this.items.length = 0;
    this.head = 0;
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<unknown> {
    return this;
  }

  // ---------------------------------------------------------------- both
  protected cancelled(reason: unknown): void {
    this.fail(reason);
  }

  private decodeWith(decoder: PieceDecoder<unknown>): AsyncIterableIterator<unknown> {
    const queued = this.items.splice(this.head) as Buffer[];
    this.items.length = 0;
    this.head = 0;
    this.decoder = decoder;
    if (this.failure) this.failure = { error: decoder.mapError(this.failure.error) };
    try {
      for (const piece of queued) decoder.push(piece, this.items);
      if (this.ended && !this.failure) decoder.end(this.items);
    } catch (error) {
      if (this.ended) this.failure ??= { error: decoder.mapError(error) };
      else {
        this.fail(error);
        this.controller?.abort(error instanceof Error ? error : new Error('malformed stream'));
      }
    }
    return this;
  }

  private take(): unknown {
    const value = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    }
    return value;
  }

  private fail(error: unknown): void {
    if (this.ended || this.failure) return;
    this.detach();
    this.failure = { error: this.decoder ? this.decoder.mapError(error) : error };
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
    if (this.head < this.items.length) waiter.resolve({ value: this.take(), done: false });
    else if (this.failure) waiter.reject(this.failure.error);
    else waiter.resolve(DONE);
  }
}
