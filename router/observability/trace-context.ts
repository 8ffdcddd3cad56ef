// W3C Trace Context (https://www.w3.org/TR/trace-context/): an incoming `traceparent` is continued — the router's
// work becomes a child span of the caller's — and every upstream request carries the router's own span as parent.
// Without one, the router starts a trace. Only version 00's shape is accepted; anything else starts a fresh trace.
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';

export interface TraceContext {
  traceId: string;
  /** The router's span for this request (the parent of upstream requests). */
  spanId: string;
  /** The caller's span, when a valid traceparent came in. */
  parentSpanId: string | undefined;
  flags: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * Ids are cut from a pooled block of random bytes: two randomBytes calls per request were the largest single cost of
 * the router's own JavaScript in CPU profiles. Every byte is used once, so ids stay as random as before.
 */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

function randomHex(bytes: number): string {
  if (poolOffset + bytes > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolOffset = 0;
  }
  const hex = pool.toString('hex', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return hex;
}

function newSpanId(): string {
  let id = randomHex(8);
  while (id === ZERO_SPAN) id = randomHex(8);
  return id;
}

export function continueTrace(header: string | string[] | undefined): TraceContext {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value ? TRACEPARENT.exec(value.trim().toLowerCase()) : null;
  // Version ff is invalid; future versions may append fields (kept out by taking the first four only).
  if (
    match &&
    match[1] !== 'ff' &&
    match[2] !== ZERO_TRACE &&
    match[3] !== ZERO_SPAN &&
    (match[1] !== '00' || value!.trim().length === 55)
  ) {
    return { traceId: match[2]!, spanId: newSpanId(), parentSpanId: match[3]!, flags: match[4]! };
  }
  let traceId = randomHex(16);
  while (traceId === ZERO_TRACE) traceId = randomHex(16);
  return { traceId, spanId: newSpanId(), parentSpanId: undefined, flags: '01' };
}

/** The `traceparent` to send upstream: same trace, the router's span as parent. */
export function traceparentOf(context: TraceContext): string {
  return `00-${context.traceId}-${context.spanId}-${context.flags}`;
}
