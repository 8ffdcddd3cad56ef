// One buffered HTTP exchange through undici's low-level dispatch API: status, headers and the whole body as text.
// Non-streamed answers use it instead of `request()`, which builds a Readable body stream, its consumer and the
// signal plumbing for every response (benchmarks/router-overhead.ts shows the router's CPU per request). Streams keep
// `request()`, whose body is what the SSE reader iterates.
import type { Dispatcher } from 'undici';

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
  signal: AbortSignal,
): Promise<BufferedExchange> {
  return new Promise<BufferedExchange>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    let controller: Dispatcher.DispatchController | undefined;
    let settled = false;
    let statusCode = 0;
    let headers: BufferedExchange['headers'] = {};
    const chunks: Buffer[] = [];
    const abortReason = (): Error => (signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    const finish = (): boolean => {
      if (settled) return false;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      return true;
    };
    function onAbort(): void {
      controller?.abort(abortReason());
      if (finish()) reject(signal.reason);
    }
    signal.addEventListener('abort', onAbort, { once: true });
    dispatcher.dispatch(options, {
      onRequestStart(started) {
        controller = started;
        if (signal.aborted) started.abort(abortReason());
      },
      onResponseStart(_controller, status, responseHeaders) {
        statusCode = status;
        headers = responseHeaders;
      },
      onResponseData(_controller, chunk) {
        chunks.push(chunk);
      },
      onResponseEnd() {
        if (!finish()) return;
        const text = chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8');
        resolve({ statusCode, headers, text });
      },
      onResponseError(_controller, error) {
        if (finish()) reject(error);
      },
    });
  });
}
