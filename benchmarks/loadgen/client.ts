// Sends one chat/completions request over a keep-alive undici dispatcher and timestamps its chunks. The timing rules
// are vLLM's (see README.md): TTFT = first non-empty chunk − send, ITL = gaps between successive non-empty chunks,
// E2E = last byte − send.
import { type Dispatcher, errors as undiciErrors, request } from 'undici';
import type { ErrorType } from './records.ts';
import { SseDataParser } from './sse.ts';
import { countTokens } from './tokens.ts';

export interface SendOptions {
  dispatcher: Dispatcher;
  baseUrl: string;
  apiKey?: string | undefined;
  model: string;
  endpoint: 'chat' | 'completions';
  stream: boolean;
  ignoreEos: boolean;
  prompt: string;
  maxTokens: number;
  timeoutMs: number;
  /** Aborts the request as `cancelled` (the run's drain deadline passed). */
  signal?: AbortSignal | undefined;
  now: () => number;
  /** Sees every parsed SSE chunk with its arrival time (diagnostics: the overhead benchmark reads server stamps). */
  onChunk?: ((chunk: unknown, at: number) => void) | undefined;
}

export interface SendResult {
  /** `now()` when the request was handed to the dispatcher. */
  sentAt: number;
  success: boolean;
  ttftMs: number | null;
  itlMs: number[];
  e2eMs: number;
  generatedText: string;
  promptTokens?: number;
  outputTokens: number;
  outputTokenSource: 'usage' | 'tiktoken';
  error?: { type: ErrorType; status?: number; message: string };
}

interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
}

interface CompletionChunk {
  choices?: {
    delta?: { content?: string | null; reasoning_content?: string | null };
    text?: string | null;
    message?: { content?: string | null };
  }[];
  usage?: Usage | null;
  error?: { message?: string };
}

/** `http://host:port/v1` or `http://host:port` → the endpoint URL. */
export function endpointUrl(baseUrl: string, endpoint: 'chat' | 'completions'): string {
  const trimmed = baseUrl.replace(/\/+$/, '');
  const withVersion = /\/v\d+$/.test(trimmed) ? trimmed : `${trimmed}/v1`;
  return `${withVersion}/${endpoint === 'chat' ? 'chat/completions' : 'completions'}`;
}

export function requestBody(
  options: Omit<SendOptions, 'dispatcher' | 'signal' | 'now' | 'timeoutMs' | 'baseUrl' | 'onChunk'>,
): Record<string, unknown> {
  const body: Record<string, unknown> = { model: options.model, max_tokens: options.maxTokens, stream: options.stream };
  if (options.endpoint === 'chat') body['messages'] = [{ role: 'user', content: options.prompt }];
  else body['prompt'] = options.prompt;
  if (options.stream) body['stream_options'] = { include_usage: true };
  if (options.ignoreEos) body['ignore_eos'] = true;
  return body;
}

function chunkText(chunk: CompletionChunk): string {
  const choice = chunk.choices?.[0];
  if (!choice) return '';
  return choice.delta?.content || choice.delta?.reasoning_content || choice.text || choice.message?.content || '';
}

function classifyThrown(error: unknown, cancelled: boolean, timedOut: boolean): { type: ErrorType; message: string } {
  const message = error instanceof Error ? error.message : String(error);
  if (cancelled) return { type: 'cancelled', message: 'cancelled at the end of the run' };
  if (timedOut || error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) {
    return { type: 'timeout', message };
  }
  return { type: 'connection', message };
}

function statusType(status: number): ErrorType {
  if (status === 429) return 'http_429';
  return status >= 500 ? 'http_5xx' : 'http_4xx';
}

export async function sendRequest(options: SendOptions): Promise<SendResult> {
  const { now } = options;
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout.signal]) : timeout.signal;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.apiKey) headers['authorization'] = `Bearer ${options.apiKey}`;
  const payload = JSON.stringify(requestBody(options));
  const sentAt = now();
  let ttftMs: number | null = null;
  let lastContentAt = sentAt;
  let lastByteAt = sentAt;
  const itlMs: number[] = [];
  let text = '';
  let usage: Usage | undefined;
  const failure = (error: SendResult['error'] & object): SendResult => ({
    sentAt,
    success: false,
    ttftMs,
    itlMs,
    e2eMs: now() - sentAt,
    generatedText: text,
    outputTokens: 0,
    outputTokenSource: 'usage',
    error,
  });
  try {
    const response = await request(endpointUrl(options.baseUrl, options.endpoint), {
      method: 'POST',
      dispatcher: options.dispatcher,
      headers,
      body: payload,
      signal,
    });
    if (response.statusCode !== 200) {
      const body = await response.body.text();
      return failure({
        type: statusType(response.statusCode),
        status: response.statusCode,
        message: body.slice(0, 300),
      });
    }
    if (options.stream) {
      const parser = new SseDataParser();
      const decoder = new TextDecoder();
      const handle = (payloads: string[], at: number): SendResult['error'] | undefined => {
        for (const data of payloads) {
          if (data.trim() === '[DONE]') continue;
          let chunk: CompletionChunk;
          try {
            chunk = JSON.parse(data) as CompletionChunk;
          } catch {
            return { type: 'stream_error', message: `unparsable SSE data: ${data.slice(0, 120)}` };
          }
          options.onChunk?.(chunk, at);
          if (chunk.error) return { type: 'stream_error', message: chunk.error.message ?? 'error event in stream' };
          if (chunk.usage) usage = chunk.usage;
          const piece = chunkText(chunk);
          if (piece.length === 0) continue;
          if (ttftMs === null) ttftMs = at - sentAt;
          else itlMs.push(at - lastContentAt);
          lastContentAt = at;
          text += piece;
        }
        return undefined;
      };
      for await (const bytes of response.body) {
        const at = now();
        lastByteAt = at;
        const error = handle(parser.push(decoder.decode(bytes as Buffer, { stream: true })), at);
        if (error) {
          response.body.destroy();
          return failure(error);
        }
      }
      const error = handle(parser.flush(), lastByteAt);
      if (error) return failure(error);
      if (ttftMs === null) return failure({ type: 'no_output', message: 'the stream ended without a non-empty chunk' });
    } else {
      const json = (await response.body.json()) as CompletionChunk;
      lastByteAt = now();
      text = chunkText(json);
      usage = json.usage ?? undefined;
    }
    const fromUsage = usage?.completion_tokens;
    const result: SendResult = {
      sentAt,
      success: true,
      ttftMs,
      itlMs,
      e2eMs: lastByteAt - sentAt,
      generatedText: text,
      outputTokens: fromUsage ?? countTokens(text),
      outputTokenSource: fromUsage === undefined ? 'tiktoken' : 'usage',
    };
    if (usage?.prompt_tokens !== undefined) result.promptTokens = usage.prompt_tokens;
    return result;
  } catch (error) {
    return failure(classifyThrown(error, options.signal?.aborted ?? false, timeout.signal.aborted));
  } finally {
    clearTimeout(timer);
  }
}
