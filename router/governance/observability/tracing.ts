// OpenTelemetry traces with GenAI semantic-convention attributes (gen_ai.*). The tracer provider is owned by the
// Governance instance (no global registration), so tests attach an InMemorySpanExporter and several routers can
// run side by side. In production the OTLP/HTTP exporter reads the standard OTEL_EXPORTER_OTLP_* variables.
import { createRequire } from 'node:module';
import { SpanKind, SpanStatusCode, type Span, type Tracer } from '@opentelemetry/api';
import type * as OtlpHttp from '@opentelemetry/exporter-trace-otlp-http';
import type * as Resources from '@opentelemetry/resources';
import type * as TraceBase from '@opentelemetry/sdk-trace-base';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';

// The SDK, the resource helpers and the OTLP exporter (~250 modules, ~10 MB) load when tracing is configured, not with
// every router: createRequire keeps createTracing synchronous.
const require = createRequire(import.meta.url);

export interface Tracing {
  readonly tracer: Tracer;
  startRequestSpan(operation: 'chat' | 'text_completion' | 'embeddings', model: string, attributes: Record<string, string | number | boolean>): Span;
  shutdown(): Promise<void>;
}

export function createTracing(options: { serviceName: string; exporter?: SpanExporter; simple?: boolean }): Tracing {
  const { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base') as typeof TraceBase;
  const { resourceFromAttributes } = require('@opentelemetry/resources') as typeof Resources;
  const exporter = options.exporter ?? new (require('@opentelemetry/exporter-trace-otlp-http') as typeof OtlpHttp).OTLPTraceExporter();
  const processor = options.simple || options.exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer('switchyard-governance');
  return {
    tracer,
    startRequestSpan(operation, model, attributes) {
      // GenAI semconv: span name "{gen_ai.operation.name} {gen_ai.request.model}", kind CLIENT.
      return tracer.startSpan(`${operation} ${model}`, {
        kind: SpanKind.CLIENT,
        attributes: { 'gen_ai.operation.name': operation, 'gen_ai.request.model': model, ...attributes },
      });
    },
    shutdown: () => provider.shutdown(),
  };
}

export function endSpan(span: Span, status: number, attributes: Record<string, string | number | boolean | undefined>): void {
  for (const [key, value] of Object.entries(attributes)) if (value !== undefined) span.setAttribute(key, value);
  span.setAttribute('http.response.status_code', status);
  if (status >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}
