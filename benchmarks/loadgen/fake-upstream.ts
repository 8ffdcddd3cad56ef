// A small OpenAI-compatible upstream with fixed TTFT and ITL for testing and calibrating the load generator: it
// streams exactly `max_tokens` one-token chunks and stamps each with the server-side time it was written
// (`x_server_ms`, ms since the request arrived; `x_server_wall`, performance.timeOrigin + now(), comparable across
// processes), so a test or benchmark can compare client-measured times with what the server did.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import express from 'express';
import { waitUntil } from './arrivals.ts';

export interface FakeUpstreamOptions {
  ttftMs: number;
  itlMs: number;
  /** Send a usage block (default true); without it the client must count tokens itself. */
  usage?: boolean;
  /** The text of every token chunk (default " tok"). */
  token?: string;
  /** Fail every n-th request with this status (e.g. { every: 3, status: 503 }). */
  failEvery?: { every: number; status: number };
}

export interface ServerChunkTimes {
  /** performance.now() when the request reached the server (same clock as an in-process client). */
  arrivedAt: number;
  /** ms since the request arrived at which each content chunk was written. */
  chunkMs: number[];
}

export interface FakeUpstream {
  baseUrl: string;
  /** Server-side chunk times of every completed streaming request, in completion order. */
  readonly served: ServerChunkTimes[];
  requestCount(): number;
  /** Most requests that were in flight at once. */
  maxInFlight(): number;
  close(): Promise<void>;
}

interface BodyShape {
  model?: string;
  max_tokens?: number;
  max_completion_tokens?: number;
  stream?: boolean;
  messages?: { content?: string }[];
  prompt?: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));
const now = () => performance.now();

export async function startFakeUpstream(options: FakeUpstreamOptions): Promise<FakeUpstream> {
  const app = express();
  // Stamp arrival before body parsing, so server-side TTFT starts when the request reached the process.
  const arrivals = new WeakMap<express.Request, number>();
  app.use((request, _response, next) => {
    arrivals.set(request, performance.now());
    next();
  });
  app.use(express.json({ limit: '20mb' }));
  const served: ServerChunkTimes[] = [];
  const token = options.token ?? ' tok';
  let requests = 0;
  let inFlight = 0;
  let peakInFlight = 0;

  const handler = (kind: 'chat' | 'completions') => async (request: express.Request, response: express.Response) => {
    const arrived = arrivals.get(request) ?? performance.now();
    requests += 1;
    inFlight += 1;
    peakInFlight = Math.max(peakInFlight, inFlight);
    response.on('close', () => {
      inFlight -= 1;
    });
    if (options.failEvery && requests % options.failEvery.every === 0) {
      response.status(options.failEvery.status).json({ error: { message: 'injected failure', type: 'server_error', param: null, code: null } });
      return;
    }
    const body = request.body as BodyShape;
    const tokens = Math.max(1, body.max_tokens ?? body.max_completion_tokens ?? 16);
    const promptText = kind === 'chat' ? (body.messages ?? []).map((message) => message.content ?? '').join(' ') : (body.prompt ?? '');
    const promptTokens = Math.max(1, promptText.split(/\s+/).filter(Boolean).length);
    const usage = { prompt_tokens: promptTokens, completion_tokens: tokens, total_tokens: promptTokens + tokens };
    const base = { id: `fake-${requests}`, created: Math.floor(Date.now() / 1000), model: body.model ?? 'fake' };
    if (!body.stream) {
      await sleep(options.ttftMs + options.itlMs * (tokens - 1));
      const text = token.repeat(tokens);
      response.json({
        ...base,
        object: kind === 'chat' ? 'chat.completion' : 'text_completion',
        choices: [kind === 'chat' ? { index: 0, message: { role: 'assistant', content: text }, finish_reason: 'length' } : { index: 0, text, finish_reason: 'length' }],
        ...(options.usage === false ? {} : { usage }),
      });
      return;
    }
    response.socket?.setNoDelay(true);
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    const write = (choice: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      response.write(`data: ${JSON.stringify({ ...base, object, choices: [choice], ...extra })}\n\n`);
    // Like vLLM: a role-only chunk first (empty content), which TTFT must not count.
    if (kind === 'chat') write({ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null });
    const chunkMs: number[] = [];
    let aborted = false;
    response.on('close', () => {
      aborted = !response.writableFinished;
    });
    for (let index = 0; index < tokens && !aborted; index += 1) {
      // Schedule against absolute targets so timer lateness does not accumulate.
      const target = arrived + options.ttftMs + index * options.itlMs;
      // Never early: Node timers have whole-ms granularity, so finish the wait by yielding.
      await waitUntil(target, now);
      const at = performance.now() - arrived;
      chunkMs.push(at);
      write(kind === 'chat' ? { index: 0, delta: { content: token }, finish_reason: null } : { index: 0, text: token, finish_reason: null }, { x_server_ms: at, x_server_wall: performance.timeOrigin + arrived + at });
    }
    if (aborted) return;
    write(kind === 'chat' ? { index: 0, delta: {}, finish_reason: 'length' } : { index: 0, text: '', finish_reason: 'length' });
    if (options.usage !== false) response.write(`data: ${JSON.stringify({ ...base, object, choices: [], usage })}\n\n`);
    response.end('data: [DONE]\n\n');
    served.push({ arrivedAt: arrived, chunkMs });
  };

  app.post('/v1/chat/completions', handler('chat'));
  app.post('/v1/completions', handler('completions'));
  app.get('/v1/models', (_request, response) => {
    response.json({ object: 'list', data: [{ id: 'fake', object: 'model', owned_by: 'switchyard' }] });
  });

  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  server.keepAliveTimeout = 60_000;
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    served,
    requestCount: () => requests,
    maxInFlight: () => peakInFlight,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
