// Per-request view of the response on its way to the client: applies the output guardrails (ChunkGuard with its
// bounded hold-back on streams, StreamGuard on whole bodies), records TTFT and inter-token latency of what the client
// actually receives, keeps the client-visible text (usage fallback, logs) and, for cacheable requests, the chunks.
import { performance } from 'node:perf_hooks';
import { RAW_JSON, type StreamChunk } from '../backends/contracts.ts';
import type { CachedAnswer } from './cache/response-cache.ts';
import { ChunkGuard } from './guardrails/chunk-guard.ts';
import { guardText, type GuardDecision } from './guardrails/stream-guard.ts';
import type { Admission } from './governance.ts';
import type { GovernanceMetrics } from './observability/metrics.ts';

const MAX_CAPTURED_TEXT = 1 << 20;

export class StreamObserver {
  /** Created on first use: a non-streamed body is guarded with guardText and never needs it. */
  private chunkGuard: ChunkGuard | undefined;
  /** `record` bound to this observer (bind, not an arrow per request: see StageTimer in governance.ts). */
  private recordDecision: ((decision: GuardDecision) => void) | undefined;
  private readonly captured: StreamChunk[] | undefined;
  private lastContentAt = 0;
  private text = '';
  private template: { id: unknown; created: unknown; model: unknown; object: unknown } | undefined;

  constructor(
    private readonly admission: Admission,
    private readonly options: { guard: boolean; capture: boolean; metrics: GovernanceMetrics },
  ) {
    this.captured = options.capture ? [] : undefined;
  }

  private get guard(): ChunkGuard | undefined {
    if (this.chunkGuard || !this.options.guard) return this.chunkGuard;
    const { admission } = this;
    this.recordDecision ??= this.record.bind(this);
    this.chunkGuard = new ChunkGuard({
      policy: admission.policy.output,
      systemPrompt: admission.systemPrompt,
      onDecision: this.recordDecision,
    });
    return this.chunkGuard;
  }

  /** Each output guardrail decision: a metric and the admission's rules (log line). */
  private record(decision: GuardDecision): void {
    this.options.metrics.guardrail.inc({ stage: 'output', rule: decision.rule, action: decision.action });
    this.admission.outputRules.push(`${decision.action}:${decision.rule}`);
  }

  /** True once every choice was blocked: the caller may stop reading the upstream. */
  get blocked(): boolean {
    return this.guard?.blocked ?? false;
  }

  /** Client-visible text so far. */
  get outputText(): string {
    return this.text;
  }

  /** Rewrites one upstream chunk; null when it must not be sent now. */
  transform(chunk: StreamChunk): StreamChunk | null {
    this.template ??= { id: chunk['id'], created: chunk['created'], model: chunk['model'], object: chunk['object'] };
    // The guard may rewrite content in place: the upstream's raw JSON text must not be forwarded instead.
    const guard = this.guard;
    if (guard) delete (chunk as Record<symbol, unknown>)[RAW_JSON];
    const out = guard ? guard.transform(chunk) : chunk;
    if (out) this.sent(out);
    return out;
  }

  /** The stream continues on another backend from what the client saw: drop held text (it will be regenerated). */
  discardHeld(): void {
    this.guard?.discardHeld();
  }

  /** Upstream ended: anything still held back, as extra chunks to send before [DONE]. */
  end(): StreamChunk[] {
    if (!this.guard || !this.template) return [];
    const chunks = this.guard.end(this.template, this.admission.endpoint === 'chat');
    for (const chunk of chunks) this.sent(chunk);
    return chunks;
  }

  private sent(chunk: StreamChunk): void {
    const choices = Array.isArray(chunk['choices']) ? (chunk['choices'] as Array<Record<string, unknown>>) : [];
    let content = '';
    for (const choice of choices) {
      const delta = choice['delta'] as Record<string, unknown> | undefined;
      const piece = delta ? delta['content'] : choice['text'];
      if (typeof piece === 'string') content += piece;
    }
    if (content !== '') {
      const now = performance.now();
      const model = this.admission.model;
      if (this.lastContentAt === 0)
        this.options.metrics.ttft.observe({ model }, (now - this.admission.startedAt) / 1000);
      else this.options.metrics.interToken.observe({ model }, (now - this.lastContentAt) / 1000);
      this.lastContentAt = now;
      if (this.text.length < MAX_CAPTURED_TEXT) this.text += content;
    }
    this.captured?.push(structuredClone(chunk));
  }

  /** The answer as the client saw it, for the cache (undefined when the stream was cut by a guardrail). */
  cacheAnswer(): CachedAnswer | undefined {
    if (!this.captured || this.blocked || this.admission.outputRules.some((rule) => rule.startsWith('block:')))
      return undefined;
    return { kind: 'chunks', chunks: this.captured };
  }

  /** Applies the output guardrails to a non-streamed body in place. */
  guardWholeBody(body: Record<string, unknown>): void {
    const choices = Array.isArray(body['choices']) ? (body['choices'] as Array<Record<string, unknown>>) : [];
    for (const choice of choices) {
      const message = choice['message'] as Record<string, unknown> | undefined;
      const content = message ? message['content'] : choice['text'];
      if (typeof content !== 'string' || content === '') continue;
      let text = content;
      if (this.options.guard) {
        this.recordDecision ??= this.record.bind(this);
        const result = guardText(content, {
          policy: this.admission.policy.output,
          systemPrompt: this.admission.systemPrompt,
          onDecision: this.recordDecision,
        });
        text = result.text;
        if (result.blocked) choice['finish_reason'] = 'content_filter';
      }
      if (message) message['content'] = text;
      else choice['text'] = text;
      if (this.text.length < MAX_CAPTURED_TEXT) this.text += text;
    }
  }
}
