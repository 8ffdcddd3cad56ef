// One request's cancellation signal, tied to its HTTP response: the client going away or the total deadline passing
// aborts the upstream work with the error the caller should see.
import type { ServerResponse } from 'node:http';
import { ClientClosedError, UpstreamTimeoutError } from '../../core/errors.ts';
import { Cancellation, type CancelSignal } from './cancellation.ts';

/** Aborts the request's upstream work when the client disconnects or the total deadline passes. */
export function requestSignal(response: ServerResponse, totalMs: number): { signal: CancelSignal; dispose(): void } {
  const cancellation = new Cancellation();
  const deadline = setTimeout(() => cancellation.abort(new UpstreamTimeoutError('total', totalMs)), totalMs);
  // Inline listener: no named closure per request.
  response.on('close', () => {
    if (!response.writableFinished) cancellation.abort(new ClientClosedError());
  });
  return {
    signal: cancellation,
    dispose() {
      clearTimeout(deadline);
    },
  };
}
