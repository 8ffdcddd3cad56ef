// One buffered HTTP exchange through undici's low-level dispatch API: status, headers and the whole body as text.
// Non-streamed answers use it instead of `request()`, which builds a Readable body stream, its consumer and the
// signal plumbing for every response (benchmarks/router-overhead.ts shows the router's CPU per request). Streams keep
// `request()`, whose body is what the SSE reader iterates.
import type { Dispatcher } from 'undici';
import type { CancelSignal } from '../resilience/cancellation.ts';

export interface BufferedExchange {
  statusCode: number;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  text: string;
}

/**
 * Sends `options` and resolves with the complete answer, or rejects with undici's error (timeouts keep their
 * UND_ERR_* codes) or, once `signal` aborts, with its reason — at once, even while the request still waits for a
 * connection (it is then aborted as soon as it starts, never sent).
 */
export function bufferedExchange(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  signal: CancelSignal,
): Promise<BufferedExchange> {
  return new Promise<BufferedExchange>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    dispatcher.dispatch(options, new ExchangeHandler(signal, resolve, reject));
  });
}

/**
 * undici's dispatch handler for one exchange. A class rather than closures: this runs on every request, and the
 * TypeScript loader (tsx, esbuild keepNames) wraps each named closure in a `defineProperty(fn, 'name')` call.
 */
class ExchangeHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private settled = false;
  private statusCode = 0;
  private headers: BufferedExchange['headers'] = {};
  private readonly chunks: Buffer[] = [];
  private readonly abortListener: () => void;

  constructor(
    private readonly signal: CancelSignal,
    private readonly resolve: (exchange: BufferedExchange) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    this.abortListener = this.onAbort.bind(this);
    signal.addEventListener('abort', this.abortListener, { once: true });
  }

  private abortReason(): Error {
    return this.signal.reason instanceof Error ? this.signal.reason : new Error('aborted');
  }

  private finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.signal.removeEventListener('abort', this.abortListener);
    return true;
  }

  private onAbort(): void {
    this.controller?.abort(this.abortReason());
    if (this.finish()) this.reject(this.signal.reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.signal.aborted) controller.abort(this.abortReason());
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: BufferedExchange['headers']): void {
    this.statusCode = statusCode;
    this.headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (!this.finish()) return;
    const chunks = this.chunks;
    const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
    this.resolve({ statusCode: this.statusCode, headers: this.headers, text });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.finish()) this.reject(error);
  }
}
