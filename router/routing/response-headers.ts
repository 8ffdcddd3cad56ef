// The response headers that say what happened to a request: the backend that answered, the route taken, the router
// model, the router's own overhead and (for `auto`) the tier. Every writer of a routed answer uses these.
import type { Lease } from './dispatcher.ts';
import { overheadMs, type RequestTimer } from './upstream-body.ts';

export const HEADER_BACKEND = 'x-switchyard-backend';
export const HEADER_ROUTE = 'x-switchyard-route';
export const HEADER_MODEL = 'x-switchyard-model';
export const HEADER_OVERHEAD = 'x-switchyard-overhead-ms';
export const HEADER_TIER = 'x-switchyard-tier';

export function routeHeaders(
  lease: Lease,
  timer: RequestTimer,
  requestId: string,
  tier?: number,
): Record<string, string> {
  const headers: Record<string, string> = {
    'x-request-id': requestId,
    [HEADER_BACKEND]: lease.entry.state.id,
    [HEADER_ROUTE]: lease.reasons.join(','),
    [HEADER_MODEL]: lease.step.model.name,
    [HEADER_OVERHEAD]: overheadMs(timer).toFixed(3),
  };
  if (tier !== undefined) headers[HEADER_TIER] = String(tier);
  return headers;
}
