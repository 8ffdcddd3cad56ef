// A vLLM-like upstream whose answer text the test scripts (content chunks), for running the real router with
// governance on: /metrics with vLLM gauges (so the scheduler sees a healthy idle replica), chat completions JSON and
// SSE (usage when `include_usage` is asked), and a 500 when the prompt says "fail".
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const METRICS = [
  '# TYPE vllm:num_requests_running gauge',
  'vllm:num_requests_running{model_name="llama-3.1-8b"} 0',
  '# TYPE vllm:num_requests_waiting gauge',
  'vllm:num_requests_waiting{model_name="llama-3.1-8b"} 0',
  '# TYPE vllm:kv_cache_usage_perc gauge',
  'vllm:kv_cache_usage_perc{model_name="llama-3.1-8b"} 0.2',
  '# TYPE vllm:prefix_cache_queries_total counter',
  'vllm:prefix_cache_queries_total{model_name="llama-3.1-8b"} 0',
  '# TYPE vllm:prefix_cache_hits_total counter',
  'vllm:prefix_cache_hits_total{model_name="llama-3.1-8b"} 0',
  '',
].join('\n');

export interface ScriptedUpstream {
  url: string;
  /** Content chunks of the next answers. */
  script: string[];
  /** Gap between streamed chunks, ms. */
  delayMs: number;
  requests: number;
  close(): Promise<void>;
}

export async function startScriptedUpstream(): Promise<ScriptedUpstream> {
  const state = { script: ['Hello', ' there', '.'], delayMs: 0, requests: 0 };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    if (request.method === 'GET') {
      if (request.url === '/metrics') response.writeHead(200, { 'content-type': 'text/plain' }).end(METRICS);
      else response.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[]}');
      return;
    }
    let raw = '';
    request.on('data', (piece: Buffer) => (raw += piece.toString()));
    request.on('end', () => {
      state.requests++;
      const body = JSON.parse(raw) as { model: string; stream?: boolean; stream_options?: { include_usage?: boolean }; messages?: unknown };
      if (JSON.stringify(body.messages ?? '').includes('fail')) {
        response.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"boom","type":"server_error"}}');
        return;
      }
      const chunks = [...state.script];
      const usage = { prompt_tokens: 12, completion_tokens: chunks.length, total_tokens: 12 + chunks.length };
      const base = { id: 'chatcmpl-scripted', created: 1_700_000_000, model: body.model };
      if (!body.stream) {
        response.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            ...base,
            object: 'chat.completion',
            choices: [{ index: 0, message: { role: 'assistant', content: chunks.join('') }, finish_reason: 'stop' }],
            usage,
          }),
        );
        return;
      }
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const event = (value: unknown): void => void response.write(`data: ${JSON.stringify(value)}\n\n`);
      event({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
      let index = 0;
      const next = (): void => {
        if (response.destroyed) return;
        if (index < chunks.length) {
          const last = index === chunks.length - 1;
          event({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: chunks[index] }, finish_reason: last ? 'stop' : null }] });
          index++;
          setTimeout(next, state.delayMs);
          return;
        }
        if (body.stream_options?.include_usage) event({ ...base, object: 'chat.completion.chunk', choices: [], usage });
        response.end('data: [DONE]\n\n');
      };
      setTimeout(next, state.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const upstream: ScriptedUpstream = {
    url: `http://127.0.0.1:${port}`,
    get script() {
      return state.script;
    },
    set script(value: string[]) {
      state.script = value;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(value: number) {
      state.delayMs = value;
    },
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return upstream;
}
