// A deliberately trivial OpenAI-compatible upstream on raw node:http, for measuring the router itself: answers
// chat completions instantly (or streams `tokens` chunks `itlMs` apart), and serves a vLLM-style /metrics page
// so the router's scraper sees a healthy, idle replica. No engine, no parsing beyond the `stream` flag.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeUpstreamOptions {
  host?: string;
  port?: number;
  /** Content chunks per streamed answer. */
  tokens?: number;
  /** Gap between streamed chunks, ms (0 = write them back to back). */
  itlMs?: number;
  model?: string;
}

export interface FakeUpstream {
  url: string;
  port: number;
  close(): Promise<void>;
}

const METRICS = [
  '# TYPE vllm:num_requests_running gauge',
  'vllm:num_requests_running{model_name="llama-3.1-8b"} 0',
  '# TYPE vllm:num_requests_waiting gauge',
  'vllm:num_requests_waiting{model_name="llama-3.1-8b"} 0',
  '# TYPE vllm:kv_cache_usage_perc gauge',
  'vllm:kv_cache_usage_perc{model_name="llama-3.1-8b"} 0.1',
  '# TYPE vllm:prefix_cache_queries_total counter',
  'vllm:prefix_cache_queries_total{model_name="llama-3.1-8b"} 0',
  '# TYPE vllm:prefix_cache_hits_total counter',
  'vllm:prefix_cache_hits_total{model_name="llama-3.1-8b"} 0',
  '',
].join('\n');

export async function startFakeUpstream(options: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const tokens = options.tokens ?? 16;
  const itlMs = options.itlMs ?? 0;
  const model = options.model ?? 'llama-3.1-8b';
  const completion = JSON.stringify({
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: 1,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'word '.repeat(tokens).trim() }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 10, completion_tokens: tokens, total_tokens: 10 + tokens },
  });
  const chunk = (delta: string, finish: string | null): string =>
    `data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1,"model":"${model}","choices":[{"index":0,"delta":${delta},"finish_reason":${finish ? `"${finish}"` : 'null'}}]}\n\n`;
  const usageChunk = `data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1,"model":"${model}","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":${tokens},"total_tokens":${10 + tokens}}}\n\n`;

  function stream(response: ServerResponse, includeUsage: boolean): void {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    response.write(chunk('{"role":"assistant","content":""}', null));
    let sent = 0;
    const next = (): void => {
      if (response.destroyed) return;
      sent++;
      const last = sent === tokens;
      response.write(chunk('{"content":"word "}', last ? 'stop' : null));
      if (!last) {
        if (itlMs > 0) setTimeout(next, itlMs);
        else setImmediate(next);
        return;
      }
      if (includeUsage) response.write(usageChunk);
      response.end('data: [DONE]\n\n');
    };
    if (itlMs > 0) setTimeout(next, itlMs);
    else next();
  }

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    if (request.method === 'GET') {
      if (request.url === '/metrics') response.writeHead(200, { 'content-type': 'text/plain' }).end(METRICS);
      else response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (piece: string) => (body += piece));
    request.on('end', () => {
      if (request.url === '/v1/embeddings') {
        const input = (JSON.parse(body) as { input: string | string[] }).input;
        const texts = Array.isArray(input) ? input : [input];
        const data = texts.map((text, index) => ({ object: 'embedding', index, embedding: [text.length, 1, 0] }));
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ object: 'list', data, model, usage: { prompt_tokens: texts.length, total_tokens: texts.length } }));
        return;
      }
      if (/"stream"\s*:\s*true/.test(body)) stream(response, /"include_usage"\s*:\s*true/.test(body));
      else response.writeHead(200, { 'content-type': 'application/json' }).end(completion);
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
