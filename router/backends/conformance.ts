// The ChatBackend conformance suite: every implementation (vLLM over undici, hosted via the openai SDK) must give
// the same response shapes and map the same upstream failures onto the same errors. Run against simulator replicas
// (`vllm` and `hosted` profiles) by backends.test.ts and against real llama-server replicas by
// router/llamacpp/backend.test.ts. The injected-fault cases (5xx, 429, hang, drop) need the simulator's fault header;
// on the real engine their real counterparts (a killed replica, context overflow, error events) are in
// router/llamacpp/*.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimReplica, SimReplicaOptions } from '../../models/sim/index.ts';
import { startSimReplica } from '../../models/sim/index.ts';
import { ClientClosedError, UpstreamError, UpstreamTimeoutError } from '../../core/errors.ts';
import type { BackendRequest, ChatBackend, StreamChunk } from './contracts.ts';

export interface ConformanceTarget {
  name: string;
  replica?: SimReplicaOptions;
  /** Starts the server under test instead of a simulator replica (a real engine). */
  start?: () => Promise<{ url: string; close(): Promise<void> }>;
  /** Upstream model name the replica serves. */
  model: string;
  create(url: string, headers: Record<string, string>): ChatBackend;
  /** A body the server rejects as the caller's fault, and its status (default: an unknown model, 404). */
  clientError?: { body: Record<string, unknown>; status: number };
  /** Merged into every generation request (e.g. `ignore_eos`, so random weights produce exactly max_tokens). */
  extraBody?: Record<string, unknown>;
}

function request(overrides: Partial<BackendRequest> & { body: Record<string, unknown> }): BackendRequest {
  return {
    endpoint: 'chat',
    requestId: 'conformance',
    signal: new AbortController().signal,
    ttftMs: 5_000,
    ...overrides,
  };
}

async function collect(chunks: AsyncIterable<StreamChunk>): Promise<StreamChunk[]> {
  const all: StreamChunk[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    const result = await promise;
    if (result && typeof result === 'object' && 'chunks' in result) {
      await collect((result as { chunks: AsyncIterable<StreamChunk> }).chunks);
    }
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

export function describeChatBackendConformance(target: ConformanceTarget): void {
  describe(`ChatBackend conformance: ${target.name}`, () => {
    let replica: Pick<SimReplica, 'url' | 'close'>;
    const faults = target.start === undefined;
    const extra = target.extraBody ?? {};
    const backends: ChatBackend[] = [];
    const make = (headers: Record<string, string> = {}, url?: string): ChatBackend => {
      const backend = target.create(url ?? replica.url, headers);
      backends.push(backend);
      return backend;
    };
    const messages = [{ role: 'user', content: 'Say something' }];

    beforeAll(async () => {
      replica = target.start
        ? await target.start()
        : await startSimReplica({ speed: 50, model: target.model, ...target.replica });
    });
    afterAll(async () => {
      await Promise.all(backends.map((backend) => backend.close()));
      await replica?.close();
    });

    it('answers a non-streamed chat completion', async () => {
      const response = await make().send(request({ body: { ...extra, model: target.model, messages, max_tokens: 5 } }));
      expect(response.streamed).toBe(false);
      if (response.streamed) return;
      expect(response.body['object']).toBe('chat.completion');
      expect((response.body['usage'] as { completion_tokens: number }).completion_tokens).toBe(5);
    });

    it('streams chat chunks ending with usage when asked', async () => {
      const response = await make().send(
        request({
          body: {
            ...extra,
            model: target.model,
            messages,
            max_tokens: 4,
            stream: true,
            stream_options: { include_usage: true },
          },
        }),
      );
      if (!response.streamed) throw new Error('expected a stream');
      const chunks = await collect(response.chunks);
      expect(chunks.every((chunk) => chunk['object'] === 'chat.completion.chunk')).toBe(true);
      const finished = chunks.filter((chunk) =>
        (chunk['choices'] as Array<{ finish_reason?: unknown }>).some((choice) => choice.finish_reason),
      );
      expect(finished).toHaveLength(1);
      expect((chunks.at(-1)?.['usage'] as { completion_tokens: number }).completion_tokens).toBe(4);
    });

    it('answers legacy completions', async () => {
      const response = await make().send(
        request({ endpoint: 'completions', body: { ...extra, model: target.model, prompt: 'Once', max_tokens: 3 } }),
      );
      if (response.streamed) throw new Error('expected JSON');
      expect(response.body['object']).toBe('text_completion');
    });

    it('maps a client error (unknown model, context overflow) to a non-retryable error with its status', async () => {
      const rejected = target.clientError ?? { body: { model: 'no-such-model', messages }, status: 404 };
      const error = await failure(make().send(request({ body: rejected.body })));
      expect(error).toBeInstanceOf(UpstreamError);
      expect((error as UpstreamError).retryable).toBe(false);
      expect((error as UpstreamError).status).toBe(rejected.status);
    });

    it.skipIf(!faults)('maps 5xx to a retryable upstream error', async () => {
      const error = await failure(
        make({ 'x-sim-fault': 'error=500' }).send(request({ body: { model: target.model, messages } })),
      );
      expect(error).toBeInstanceOf(UpstreamError);
      expect((error as UpstreamError).retryable).toBe(true);
      expect((error as UpstreamError).upstreamStatus).toBe(500);
    });

    it.skipIf(!faults)('maps 429 to a retryable error carrying retry-after', async () => {
      const backend = make({ 'x-sim-fault': 'error=429;retry-after=2' });
      const error = await failure(backend.send(request({ body: { model: target.model, messages } })));
      expect((error as UpstreamError).status).toBe(429);
      expect((error as UpstreamError).retryable).toBe(true);
      expect((error as UpstreamError).retryAfterMs).toBe(2_000);
    });

    it.skipIf(!faults)('times out a stream whose first token never comes', async () => {
      const backend = make({ 'x-sim-fault': 'hang-after=0' });
      const error = await failure(
        backend.send(request({ ttftMs: 150, body: { model: target.model, messages, stream: true, max_tokens: 5 } })),
      );
      expect(error).toBeInstanceOf(UpstreamTimeoutError);
      expect((error as UpstreamTimeoutError).phase).toBe('ttft');
      expect((error as UpstreamTimeoutError).retryable).toBe(true);
    });

    it.skipIf(!faults)('times out a non-streamed answer that never comes', async () => {
      const backend = make({ 'x-sim-fault': 'hang-after=0' });
      const error = await failure(backend.send(request({ ttftMs: 150, body: { model: target.model, messages } })));
      expect(error).toBeInstanceOf(UpstreamTimeoutError);
      expect((error as UpstreamTimeoutError).phase).toBe('ttft');
      expect((error as UpstreamTimeoutError).retryable).toBe(true);
    });

    it.skipIf(!faults)('reports a dropped stream as a retryable error, not a clean end', async () => {
      const backend = make({ 'x-sim-fault': 'drop-after=2' });
      const error = await failure(
        backend.send(request({ body: { model: target.model, messages, stream: true, max_tokens: 10 } })),
      );
      expect(error).toBeInstanceOf(UpstreamError);
      expect((error as UpstreamError).retryable).toBe(true);
    });

    it('surfaces the abort reason when the router aborts', async () => {
      const controller = new AbortController();
      const response = await make().send(
        request({
          signal: controller.signal,
          body: { ...extra, model: target.model, messages, stream: true, max_tokens: 500 },
        }),
      );
      if (!response.streamed) throw new Error('expected a stream');
      const error = await (async () => {
        try {
          for await (const _chunk of response.chunks) controller.abort(new ClientClosedError());
        } catch (caught) {
          return caught;
        }
        return null;
      })();
      expect(error).toBeInstanceOf(ClientClosedError);
    });

    it('maps connection refused to a retryable error', async () => {
      const error = await failure(
        make({}, 'http://127.0.0.1:9').send(request({ body: { model: target.model, messages } })),
      );
      expect((error as UpstreamError).retryable).toBe(true);
    });
  });
}
