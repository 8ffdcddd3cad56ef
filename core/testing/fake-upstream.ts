// The one fake OpenAI-compatible upstream for tests and benchmarks, on raw node:http: chat completions, completions
// and embeddings (JSON or SSE), /v1/models, /health, and an engine-shaped metrics surface (vLLM gauges, llama-server
// `/metrics` + `/slots`, or none for a hosted API). Answers are scripted (fixed chunks, a token repeated, or a
// responder per request) and faults are injected per request: an error status, a malformed body, a stream that drops
// mid-way, fixed TTFT/ITL delays. It stands in where the real engine cannot run here (vLLM needs a GPU; hosted APIs
// need the network); every setting is mutable and applies to the next request.
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/** Which engine's metrics surface the fake exposes. `openai` = a hosted API: no /metrics. */
export type FakeEngine = 'vllm' | 'llamacpp' | 'openai';

export interface FakeMessage {
  role: string;
  content?: string | Array<{ type: string; text?: string }> | null;
}

/** The request body as the fake reads it; unknown fields stay readable through the index signature. */
export interface FakeRequestBody {
  model?: string;
  messages?: FakeMessage[];
  prompt?: string | string[];
  input?: string | string[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  max_tokens?: number;
  max_completion_tokens?: number;
  [key: string]: unknown;
}

/** An injected fault: an error status with OpenAI error JSON, a malformed 200 body, or a stream that drops. */
export type FakeFault =
  | { status: number; message?: string; type?: string }
  | { malformed: string }
  /** Destroys the socket after this many content chunks (a non-streamed request drops before any byte). */
  | { dropAfter: number; chunks?: readonly string[] };

/** A whole answer (string), content chunks, or a fault. */
export type FakeReply = string | readonly string[] | FakeFault;

/** Decides one answer; `undefined` means the default answer from the settings. */
export type FakeResponder = (
  body: FakeRequestBody,
  call: { index: number; path: string },
) => FakeReply | undefined | Promise<FakeReply | undefined>;

export interface FakeUpstreamSettings {
  engine: FakeEngine;
  /** The engine's served model name: the metrics' `model_name` label and the /v1/models entry. */
  servedModel: string;
  /** The `model` of every answer; unset = the request's model. */
  model: string | undefined;
  /** Content chunks of every answer; unset = `token` repeated `tokens` times. */
  chunks: readonly string[] | undefined;
  token: string;
  /** Chunk count, or the request's max_tokens (like an engine with ignore_eos). */
  tokens: number | 'max_tokens';
  reply: FakeResponder | undefined;
  /** First content chunk this long after the request arrived; each later one `itlMs` after the previous. */
  ttftMs: number;
  itlMs: number;
  /**
   * The last this-many ms of each wait are spent in setImmediate turns (precise to a few µs, but a busy core while
   * any stream is that close to its next chunk); 0 = timers only (±1 ms), for load that must leave the CPU idle.
   */
  spinMs: number;
  /** Send usage (JSON always, SSE when `stream_options.include_usage` asks); false = the client must count. */
  usage: boolean;
  finishReason: 'stop' | 'length';
  /** Fail every n-th request with this status. */
  failEvery: { every: number; status: number } | undefined;
  /** Stamp each streamed chunk with `x_server_ms` (since arrival) and `x_server_wall` (timeOrigin-based). */
  stampServerTimes: boolean;
  /** KV-cache use reported by the metrics surface. */
  kvUsage: number;
  /** Replaces the engine-shaped /metrics page (status and text), e.g. to serve garbage or a 500. */
  metricsPage: { status: number; body: string } | undefined;
}

export interface FakeUpstreamOptions extends Partial<FakeUpstreamSettings> {
  host?: string;
  port?: number;
}

export interface ServerChunkTimes {
  /** performance.now() when the request reached the server (same clock as an in-process client). */
  arrivedAt: number;
  /** ms since the request arrived at which each content chunk was written. */
  chunkMs: number[];
}

export interface FakeUpstream {
  /** http://127.0.0.1:port (engine-style backend URL). */
  url: string;
  /** `${url}/v1`, ready for `new OpenAI({ baseURL })`. */
  baseURL: string;
  port: number;
  /** Mutable: a change applies to the next request. */
  settings: FakeUpstreamSettings;
  /** Every POST body received, in arrival order. */
  readonly requests: FakeRequestBody[];
  /** The headers of every POST, parallel to `requests` (what the caller propagated: trace context, auth, …). */
  readonly requestHeaders: IncomingHttpHeaders[];
  /** The text of every POST body as it arrived, in arrival order (a body that is not JSON too). */
  readonly requestTexts: string[];
  /** Server-side chunk times of every completed stream, in completion order. */
  readonly served: ServerChunkTimes[];
  requestCount(): number;
  /** Most POST requests in flight at once. */
  maxInFlight(): number;
  /** GET /metrics requests answered. */
  metricsScrapes(): number;
  close(): Promise<void>;
}

const DEFAULTS: FakeUpstreamSettings = {
  engine: 'vllm',
  servedModel: 'llama-3.1-8b',
  model: undefined,
  chunks: undefined,
  token: ' tok',
  tokens: 16,
  reply: undefined,
  ttftMs: 0,
  itlMs: 0,
  spinMs: 1,
  usage: true,
  finishReason: 'stop',
  failEvery: undefined,
  stampServerTimes: false,
  kvUsage: 0.1,
  metricsPage: undefined,
};

/** The text of a message's content (string or text parts). */
export function messageText(message: FakeMessage): string {
  const content = message.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => part.text ?? '').join('');
  return '';
}

/** Waits until `now() >= target`: a timer for all but the last `spinMs`, then setImmediate turns (I/O runs). */
async function waitUntil(target: number, spinMs: number): Promise<void> {
  const coarse = target - performance.now() - spinMs;
  if (coarse > 0) await new Promise<void>((resolve) => setTimeout(resolve, coarse));
  if (spinMs <= 0) return;
  while (performance.now() < target) await new Promise<void>((resolve) => setImmediate(resolve));
}

const nextTurn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

function vllmMetrics(model: string, running: number, kvUsage: number): string {
  const label = `{model_name="${model}"}`;
  return [
    '# TYPE vllm:num_requests_running gauge',
    `vllm:num_requests_running${label} ${running}`,
    '# TYPE vllm:num_requests_waiting gauge',
    `vllm:num_requests_waiting${label} 0`,
    '# TYPE vllm:kv_cache_usage_perc gauge',
    `vllm:kv_cache_usage_perc${label} ${kvUsage}`,
    '# TYPE vllm:prefix_cache_queries_total counter',
    `vllm:prefix_cache_queries_total${label} 0`,
    '# TYPE vllm:prefix_cache_hits_total counter',
    `vllm:prefix_cache_hits_total${label} 0`,
    '',
  ].join('\n');
}

/** llama-server's `--metrics` page: unlabelled `llamacpp:` series. */
function llamaCppMetrics(running: number, promptTokens: number): string {
  return [
    '# TYPE llamacpp:requests_processing gauge',
    `llamacpp:requests_processing ${running}`,
    '# TYPE llamacpp:requests_deferred gauge',
    'llamacpp:requests_deferred 0',
    '# TYPE llamacpp:prompt_tokens_total counter',
    `llamacpp:prompt_tokens_total ${promptTokens}`,
    '',
  ].join('\n');
}

const SLOT_CONTEXT = 4096;

/** llama-server's `GET /slots`: one slot per request in flight plus one idle, KV use as `kvUsage` of each busy slot. */
function llamaCppSlots(running: number, kvUsage: number): unknown[] {
  return Array.from({ length: running + 1 }, (_, id) => ({
    id,
    n_ctx: SLOT_CONTEXT,
    is_processing: id < running,
    ...(id < running ? { n_prompt_tokens: Math.round(SLOT_CONTEXT * kvUsage) } : {}),
  }));
}

function isFault(reply: FakeReply): reply is FakeFault {
  return typeof reply === 'object' && !Array.isArray(reply);
}

function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function promptText(body: FakeRequestBody): string {
  if (body.messages) return body.messages.map(messageText).join(' ');
  return Array.isArray(body.prompt) ? body.prompt.join(' ') : (body.prompt ?? '');
}

function errorBody(status: number, message: string, type: string): string {
  return JSON.stringify({ error: { message, type, param: null, code: null } });
}

export async function startFakeUpstream(options: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const { host, port: wantedPort, ...overrides } = options;
  const settings: FakeUpstreamSettings = { ...DEFAULTS, ...overrides };
  const requests: FakeRequestBody[] = [];
  const requestHeaders: IncomingHttpHeaders[] = [];
  const requestTexts: string[] = [];
  const served: ServerChunkTimes[] = [];
  let inFlight = 0;
  let peakInFlight = 0;
  let scrapes = 0;
  let promptTokensTotal = 0;

  function answerGet(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      scrapes++;
      if (settings.metricsPage) {
        response
          .writeHead(settings.metricsPage.status, { 'content-type': 'text/plain; version=0.0.4' })
          .end(settings.metricsPage.body);
      } else if (settings.engine === 'vllm') {
        response
          .writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
          .end(vllmMetrics(settings.servedModel, inFlight, settings.kvUsage));
      } else if (settings.engine === 'llamacpp') {
        response
          .writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
          .end(llamaCppMetrics(inFlight, promptTokensTotal));
      } else {
        response
          .writeHead(404, { 'content-type': 'application/json' })
          .end(errorBody(404, 'Not found', 'invalid_request_error'));
      }
      return;
    }
    if (path === '/slots' && settings.engine === 'llamacpp') {
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(llamaCppSlots(inFlight, settings.kvUsage)));
      return;
    }
    if (path === '/v1/models') {
      const id = settings.servedModel;
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(
          JSON.stringify({ object: 'list', data: [{ id, object: 'model', created: 0, owned_by: 'fake-upstream' }] }),
        );
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
  }

  async function answerPost(
    path: string,
    body: FakeRequestBody,
    headers: IncomingHttpHeaders,
    arrived: number,
    response: ServerResponse,
  ): Promise<void> {
    const index = requests.length;
    requests.push(body);
    requestHeaders.push(headers);
    const failEvery = settings.failEvery;
    if (failEvery && (index + 1) % failEvery.every === 0) {
      response
        .writeHead(failEvery.status, { 'content-type': 'application/json' })
        .end(errorBody(failEvery.status, 'injected failure', 'server_error'));
      return;
    }
    const model = settings.model ?? body.model ?? 'fake';
    if (path === '/v1/embeddings') {
      const input = body.input ?? '';
      const texts = Array.isArray(input) ? input : [input];
      const data = texts.map((text, position) => ({
        object: 'embedding',
        index: position,
        embedding: [text.length, 1, 0],
      }));
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          object: 'list',
          data,
          model,
          usage: { prompt_tokens: texts.length, total_tokens: texts.length },
        }),
      );
      return;
    }
    const reply = (await settings.reply?.(body, { index, path })) ?? defaultChunks(body);
    if (isFault(reply) && 'status' in reply) {
      response
        .writeHead(reply.status, { 'content-type': 'application/json' })
        .end(errorBody(reply.status, reply.message ?? 'injected failure', reply.type ?? 'server_error'));
      return;
    }
    if (isFault(reply) && 'malformed' in reply) {
      const type = body.stream ? 'text/event-stream' : 'application/json';
      response
        .writeHead(200, { 'content-type': type })
        .end(body.stream ? `data: ${reply.malformed}\n\n` : reply.malformed);
      return;
    }
    const dropAfter = isFault(reply) ? reply.dropAfter : undefined;
    const chunks = isFault(reply)
      ? [...(reply.chunks ?? defaultChunks(body))]
      : typeof reply === 'string'
        ? [reply]
        : [...reply];
    const chat = path !== '/v1/completions';
    const promptTokens = Math.max(1, words(promptText(body)));
    promptTokensTotal += promptTokens;
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: chunks.length,
      total_tokens: promptTokens + chunks.length,
    };
    const base = { id: `fake-${index + 1}`, created: Math.floor(Date.now() / 1000), model };
    if (!body.stream) {
      if (dropAfter !== undefined) {
        response.socket?.destroy();
        return;
      }
      await waitUntil(arrived + settings.ttftMs + settings.itlMs * Math.max(0, chunks.length - 1), settings.spinMs);
      const text = chunks.join('');
      const choice = chat
        ? {
            index: 0,
            message: { role: 'assistant', content: text },
            finish_reason: settings.finishReason,
            logprobs: null,
          }
        : { index: 0, text, finish_reason: settings.finishReason, logprobs: null };
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          ...base,
          object: chat ? 'chat.completion' : 'text_completion',
          choices: [choice],
          ...(settings.usage ? { usage } : {}),
        }),
      );
      return;
    }
    await stream(response, {
      chat,
      chunks,
      base,
      usage,
      arrived,
      dropAfter,
      includeUsage: settings.usage && body.stream_options?.include_usage === true,
    });
  }

  function defaultChunks(body: FakeRequestBody): string[] {
    if (settings.chunks) return [...settings.chunks];
    const count =
      settings.tokens === 'max_tokens'
        ? Math.max(1, body.max_tokens ?? body.max_completion_tokens ?? 16)
        : settings.tokens;
    return Array.from({ length: count }, () => settings.token);
  }

  interface StreamPlan {
    chat: boolean;
    chunks: string[];
    base: { id: string; created: number; model: string };
    usage: Record<string, number>;
    arrived: number;
    dropAfter: number | undefined;
    includeUsage: boolean;
  }

  async function stream(response: ServerResponse, plan: StreamPlan): Promise<void> {
    const { chat, chunks, base, arrived } = plan;
    const object = chat ? 'chat.completion.chunk' : 'text_completion';
    let flushed: Promise<void> = Promise.resolve();
    const write = (choice: Record<string, unknown>, extra: Record<string, unknown> = {}): void => {
      flushed = new Promise<void>((resolve) =>
        response.write(`data: ${JSON.stringify({ ...base, object, choices: [choice], ...extra })}\n\n`, () =>
          resolve(),
        ),
      );
    };
    response.socket?.setNoDelay(true);
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    // Like vLLM: a role-only chunk first (empty content), which a client's TTFT must not count.
    if (chat) write({ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null });
    const chunkMs: number[] = [];
    for (let position = 0; position < chunks.length; position++) {
      if (plan.dropAfter !== undefined && position >= plan.dropAfter) {
        // The chunks so far reach the client, then the connection breaks without [DONE].
        await flushed;
        response.socket?.destroy();
        return;
      }
      // Absolute targets, so timer lateness does not accumulate; at least one turn between chunks lets I/O run.
      const target = arrived + settings.ttftMs + position * settings.itlMs;
      if (performance.now() < target) await waitUntil(target, settings.spinMs);
      else if (position > 0) await nextTurn();
      if (response.destroyed) return;
      const at = performance.now() - arrived;
      chunkMs.push(at);
      const last = position === chunks.length - 1;
      const finish = last ? settings.finishReason : null;
      const content = chunks[position] ?? '';
      const stamp = settings.stampServerTimes
        ? { x_server_ms: at, x_server_wall: performance.timeOrigin + arrived + at }
        : {};
      write(
        chat
          ? { index: 0, delta: { content }, finish_reason: finish }
          : { index: 0, text: content, finish_reason: finish },
        stamp,
      );
    }
    if (chunks.length === 0)
      write(
        chat
          ? { index: 0, delta: {}, finish_reason: settings.finishReason }
          : { index: 0, text: '', finish_reason: settings.finishReason },
      );
    if (plan.includeUsage)
      response.write(`data: ${JSON.stringify({ ...base, object, choices: [], usage: plan.usage })}\n\n`);
    response.end('data: [DONE]\n\n');
    served.push({ arrivedAt: arrived, chunkMs });
  }

  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    // Stamped before the body is read, so server-side TTFT starts when the request reached the process.
    const arrived = performance.now();
    if (request.method === 'GET') {
      answerGet(request, response);
      return;
    }
    let raw = '';
    request.setEncoding('utf8');
    request.on('data', (piece: string) => (raw += piece));
    request.on('end', () => {
      requestTexts.push(raw);
      let body: FakeRequestBody;
      try {
        body = (raw === '' ? {} : JSON.parse(raw)) as FakeRequestBody;
      } catch {
        response
          .writeHead(400, { 'content-type': 'application/json' })
          .end(errorBody(400, 'request body is not JSON', 'invalid_request_error'));
        return;
      }
      inFlight++;
      peakInFlight = Math.max(peakInFlight, inFlight);
      response.on('close', () => inFlight--);
      answerPost((request.url ?? '/').split('?')[0] ?? '/', body, request.headers, arrived, response).catch(
        (error: unknown) => {
          if (!response.headersSent)
            response
              .writeHead(500, { 'content-type': 'application/json' })
              .end(errorBody(500, String(error), 'server_error'));
          else response.destroy();
        },
      );
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(wantedPort ?? 0, host ?? '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    baseURL: `${url}/v1`,
    port,
    settings,
    requests,
    requestHeaders,
    requestTexts,
    served,
    requestCount: () => requests.length,
    maxInFlight: () => peakInFlight,
    metricsScrapes: () => scrapes,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** An engine under ignore_eos, as a load generator measures it: max_tokens chunks ending in `length`, each stamped. */
export const LOAD_TEST_SHAPE: Partial<FakeUpstreamSettings> = {
  servedModel: 'fake',
  tokens: 'max_tokens',
  finishReason: 'length',
  stampServerTimes: true,
};
