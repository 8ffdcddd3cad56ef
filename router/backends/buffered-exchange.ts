// One buffered HTTP exchange through undici's low-level dispatch API: status, headers and the whole body as text.
// Non-streamed answers use it instead of `request()`, which builds a Readable body stream, its consumer and the
// signal plumbing for every response (benchmarks/router-overhead.ts shows the router's CPU per request).
import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';
import { errors, type Dispatcher } from 'undici';
import type { CancelSignal } from '../resilience/cancellation.ts';
import { CancellableHandler, startExchange, type Headers } from './dispatch-exchange.ts';
import type { UpstreamClock } from './contracts.ts';

export interface BufferedExchange {
  statusCode: number;
  headers: Headers;
  text: string;
}

/**
 * Sends `options` and resolves with the complete answer, or rejects with undici's error (timeouts keep their
 * UND_ERR_* codes) or, once `signal` aborts, with its reason — at once, even while the request still waits for a
 * connection (it is then aborted as soon as it starts, never sent).
 *
 * `timeoutMs` bounds the whole answer from the moment the request is sent, rejecting with undici's headers (or, once
 * the status arrived, body) timeout error. One node timer per exchange, cleared when it settles: undici's per-request
 * `headersTimeout` / `bodyTimeout` each start a timer with a WeakRef that lives until undici's next 500 ms sweep, so
 * every request's timers would outlive two scavenges and be promoted to the old generation.
 */
export function bufferedExchange(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  signal: CancelSignal,
  clock?: UpstreamClock,
  timeoutMs = 0,
): Promise<BufferedExchange> {
  return startExchange<BufferedExchange>(
    dispatcher,
    options,
    signal,
    (resolve, reject) => new BufferedHandler(signal, clock, timeoutMs, resolve, reject),
  );
}

function expire(handler: BufferedHandler): void {
  handler.timedOut();
}

class BufferedHandler extends CancellableHandler {
  private settled = false;
  private statusCode = 0;
  private headers: Headers = {};
  private readonly chunks: Buffer[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    signal: CancelSignal,
    clock: UpstreamClock | undefined,
    private readonly timeoutMs: number,
    private readonly resolve: (exchange: BufferedExchange) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    super(signal, clock);
  }

  override onRequestStart(controller: Dispatcher.DispatchController): void {
    super.onRequestStart(controller);
    if (this.timeoutMs > 0 && !this.settled) this.timer = setTimeout(expire, this.timeoutMs, this);
  }

  timedOut(): void {
    this.timer = undefined;
    const error = this.statusCode === 0 ? new errors.HeadersTimeoutError() : new errors.BodyTimeoutError();
    if (!this.settle()) return;
    this.controller?.abort(error);
    this.reject(error);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Headers): void {
    this.statusCode = statusCode;
    this.headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.clock) this.clock.answeredAt = performance.now();
    if (!this.settle()) return;
    const chunks = this.chunks;
    const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
    this.resolve({ statusCode: this.statusCode, headers: this.headers, text });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.settle()) this.reject(error);
  }

  protected cancelled(reason: unknown): void {
    if (this.settle()) this.reject(reason);
  }

  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.detach();
    return true;
  }
}
