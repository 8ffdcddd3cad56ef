// openai-node's retry rules and upstream error mapping.
import { describe, expect, it } from 'vitest';
import { errorFromUpstreamStatus, isRetryableStatus, parseRetryAfterMs, readErrorBody } from './upstream-errors.ts';
import { readSseData } from './sse.ts';

const headers = (values: Record<string, string>) => (name: string) => values[name] ?? null;

describe('retry rules', () => {
  it('retries 408, 409, 429 and 5xx, obeying x-should-retry', () => {
    for (const status of [408, 409, 429, 500, 502, 503, 504]) expect(isRetryableStatus(status)).toBe(true);
    for (const status of [400, 401, 403, 404, 422]) expect(isRetryableStatus(status)).toBe(false);
    expect(isRetryableStatus(500, headers({ 'x-should-retry': 'false' }))).toBe(false);
    expect(isRetryableStatus(400, headers({ 'x-should-retry': 'true' }))).toBe(true);
  });

  it('reads retry-after-ms first, then retry-after seconds or date', () => {
    expect(parseRetryAfterMs(headers({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250);
    expect(parseRetryAfterMs(headers({ 'retry-after': '1.5' }))).toBe(1500);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfterMs(headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }), now)).toBe(3000);
    expect(parseRetryAfterMs(headers({ 'retry-after': 'soon' }))).toBeNull();
    expect(parseRetryAfterMs(headers({}))).toBeNull();
  });
});

describe('upstream error mapping', () => {
  it('reads both the OpenAI and the old vLLM error shapes', () => {
    expect(readErrorBody({ error: { message: 'm', type: 't', code: 'context_length_exceeded' } })).toMatchObject({
      message: 'm',
      type: 't',
      code: 'context_length_exceeded',
    });
    // vLLM's words (a Python exception name, the status as a numeric code) become OpenAI's.
    expect(readErrorBody({ object: 'error', message: 'old', type: 'BadRequestError', code: 400 })).toEqual({
      message: 'old',
      type: 'invalid_request_error',
      code: null,
      param: null,
    });
    expect(readErrorBody('nope')).toBeNull();
  });

  it('keeps client faults as they are and turns server faults into retryable 502s', () => {
    const clientFault = errorFromUpstreamStatus(
      'b',
      400,
      '{"error":{"message":"too long","type":"BadRequestError","param":"messages"}}',
      headers({}),
    );
    expect(clientFault).toMatchObject({
      status: 400,
      retryable: false,
      type: 'invalid_request_error',
      param: 'messages',
    });
    const serverFault = errorFromUpstreamStatus('b', 503, 'upstream sad', headers({ 'retry-after': '2' }));
    expect(serverFault).toMatchObject({ status: 502, retryable: true, upstreamStatus: 503, retryAfterMs: 2000 });
    expect(serverFault.headers['retry-after']).toBe('2');
    expect(errorFromUpstreamStatus('b', 429, '{}', headers({}))).toMatchObject({
      status: 429,
      type: 'rate_limit_error',
    });
  });
});

describe('SSE reader', () => {
  async function* pieces(...parts: string[]): AsyncGenerator<Uint8Array> {
    for (const part of parts) yield new TextEncoder().encode(part);
  }

  it('splits events across arbitrary chunk boundaries, LF or CRLF', async () => {
    const events: string[] = [];
    for await (const data of readSseData(
      pieces('data: {"a":', '1}\n\n: comment\n\ndata: x\r\n', '\r\ndata: [DONE]\n\n'),
    )) {
      events.push(data);
    }
    expect(events).toEqual(['{"a":1}', 'x', '[DONE]']);
  });

  it('keeps a multi-byte character split between pieces, joins multi-line data, reads an unterminated last event', async () => {
    const bytes = Buffer.from(
      'data: {"t":"ä€😀"}\n\ndata: one\ndata: two\nid: 7\n\ndata:no-space\n\ndata: tail',
      'utf8',
    );
    // Cut inside the 2-, 3- and 4-byte characters.
    const cuts = [13, 15, 19, bytes.length];
    let start = 0;
    async function* byteChunks(): AsyncGenerator<Uint8Array> {
      for (const cut of cuts) {
        yield bytes.subarray(start, cut);
        start = cut;
      }
    }
    const events: string[] = [];
    for await (const data of readSseData(byteChunks())) events.push(data);
    expect(events).toEqual(['{"t":"ä€😀"}', 'one\ntwo', 'no-space', 'tail']);
  });
});
