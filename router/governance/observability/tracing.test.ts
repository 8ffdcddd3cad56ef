// Governance spans continue the request's W3C trace: with a caller's traceparent the span is the caller span's child
// and carries the router's span id (the parent the upstream request names); without one it still takes the
// request's trace and span ids. Read back from an in-memory span exporter.
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { continueTrace, traceparentOf } from '../../observability/trace-context.ts';
import { createTracing, endSpan } from './tracing.ts';

describe('governance spans and the incoming traceparent', () => {
  it('a span is the child of the caller span and has the router span id sent upstream', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = createTracing({ serviceName: 'test', exporter });
    const caller = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const request = continueTrace(caller);
    endSpan(tracing.startRequestSpan('chat', 'llama-3.1-8b', { 'switchyard.request_id': 'r1' }, request), 200, {});
    const fresh = continueTrace(undefined);
    endSpan(tracing.startRequestSpan('chat', 'llama-3.1-8b', { 'switchyard.request_id': 'r2' }, fresh), 200, {});
    endSpan(tracing.startRequestSpan('chat', 'llama-3.1-8b', { 'switchyard.request_id': 'r3' }), 200, {});
    const [continued, started, plain] = exporter.getFinishedSpans();
    expect(continued?.spanContext()).toMatchObject({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: request.spanId,
    });
    expect(continued?.parentSpanContext).toMatchObject({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      isRemote: true,
    });
    // The upstream request's traceparent names this span as its parent.
    expect(traceparentOf(request)).toBe(`00-4bf92f3577b34da6a3ce929d0e0e4736-${continued?.spanContext().spanId}-01`);
    expect(started?.spanContext()).toMatchObject({ traceId: fresh.traceId, spanId: fresh.spanId });
    expect(started?.parentSpanContext).toBeUndefined();
    // Without a request trace the ids are random, and not the previous request's.
    expect(plain?.spanContext().spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(plain?.spanContext().spanId).not.toBe(fresh.spanId);
    expect(plain?.spanContext().traceId).not.toBe(fresh.traceId);
    await tracing.shutdown();
  });
});
