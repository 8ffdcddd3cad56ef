// OpenTelemetry traces with GenAI semantic-convention attributes (gen_ai.*). The tracer provider is owned by the
// Governance instance (no global registration), so tests attach an InMemorySpanExporter and several routers can
// run side by side. In production the OTLP/HTTP exporter reads the standard OTEL_EXPORTER_OTLP_* variables.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import type * as OtlpHttp from '@opentelemetry/exporter-trace-otlp-http';
import type * as Resources from '@opentelemetry/resources';
import type * as TraceBase from '@opentelemetry/sdk-trace-base';
import type { IdGenerator, SpanExporter } from '@opentelemetry/sdk-trace-base';

// The SDK, the resource helpers and the OTLP exporter (~250 modules, ~10 MB) load when tracing is configured, not with
// every router: createRequire keeps createTracing synchronous.
const require = createRequire(import.meta.url);

/** The request's W3C trace context (router/observability/trace-context.ts): its trace, its span, the caller's span. */
export interface RequestTrace {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  flags: string;
}

/**
 * Random ids, except for the next span started for a request: it takes the request's own trace and span ids, so the
 * governance span is the router's span in the trace — the child of the caller's span and the parent of the upstream
 * request (whose traceparent names that span id). The slot is set and cleared around one synchronous span start, so it cannot leak to another span.
 */
class RequestIdGenerator implements IdGenerator {
  next: { traceId: string; spanId: string } | undefined;
  generateTraceId(): string {
    return this.next?.traceId ?? randomBytes(16).toString('hex');
  }
  generateSpanId(): string {
    return this.next?.spanId ?? randomBytes(8).toString('hex');
  }
}

export interface Tracing {
  readonly tracer: Tracer;
  startRequestSpan(
    operation: 'chat' | 'text_completion' | 'embeddings',
    model: string,
    attributes: Record<string, string | number | boolean>,
    requestTrace?: RequestTrace,
  ): Span;
  shutdown(): Promise<void>;
}

export function createTracing(options: { serviceName: string; exporter?: SpanExporter; simple?: boolean }): Tracing {
  const { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor } =
    require('@opentelemetry/sdk-trace-base') as typeof TraceBase;
  const { resourceFromAttributes } = require('@opentelemetry/resources') as typeof Resources;
  const exporter =
    options.exporter ?? new (require('@opentelemetry/exporter-trace-otlp-http') as typeof OtlpHttp).OTLPTraceExporter();
  const processor =
    options.simple || options.exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter);
  const ids = new RequestIdGenerator();
  const provider = new BasicTracerProvider({
    idGenerator: ids,
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer('switchyard-governance');
  return {
    tracer,
    startRequestSpan(operation, model, attributes, requestTrace) {
      // A caller's traceparent makes its span the parent (a remote span context); the span takes the request's ids.
      const parent =
        requestTrace?.parentSpanId === undefined
          ? ROOT_CONTEXT
          : trace.setSpanContext(ROOT_CONTEXT, {
              traceId: requestTrace.traceId,
              spanId: requestTrace.parentSpanId,
              traceFlags: Number.parseInt(requestTrace.flags, 16) & 1,
              isRemote: true,
            });
      ids.next =
        requestTrace === undefined ? undefined : { traceId: requestTrace.traceId, spanId: requestTrace.spanId };
      // GenAI semconv: span name "{gen_ai.operation.name} {gen_ai.request.model}", kind CLIENT.
      const span = tracer.startSpan(
        `${operation} ${model}`,
        {
          kind: SpanKind.CLIENT,
          attributes: { 'gen_ai.operation.name': operation, 'gen_ai.request.model': model, ...attributes },
        },
        parent,
      );
      ids.next = undefined;
      return span;
    },
    shutdown: () => provider.shutdown(),
  };
}

export function endSpan(
  span: Span,
  status: number,
  attributes: Record<string, string | number | boolean | undefined>,
): void {
  for (const [key, value] of Object.entries(attributes)) if (value !== undefined) span.setAttribute(key, value);
  span.setAttribute('http.response.status_code', status);
  if (status >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}
