// bufferedExchange against a real node:http server: whole bodies in several chunks, error statuses, undici's timeout
// codes (its own timers and the exchange's), and aborts — before sending, while queued behind another request, and mid-answer.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferedExchange } from './buffered-exchange.ts';

let server: Server;
let pool: Pool;
let origin: string;
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    seen.push(request.url ?? '');
    if (request.url === '/chunks') {
      response.writeHead(200, { 'content-type': 'application/json', 'x-extra': 'yes' });
      response.write('{"parts":[');
      setTimeout(() => response.end('1,2,3]}'), 10);
    } else if (request.url === '/error') {
      response.writeHead(429, { 'retry-after': '2' });
      response.end('{"error":{"message":"slow down"}}');
    } else if (request.url === '/slow-headers') {
      // Far past the timeout: undici checks its timers on a coarse tick, so the margin is wide.
      setTimeout(() => response.end('too late'), 5_000).unref();
    } else if (request.url === '/slow-first') {
      setTimeout(() => response.end('late'), 300);
    } else if (request.url === '/stall') {
      response.writeHead(200);
      response.write('{"partial":');
      // never ends
    } else {
      response.end('{}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  pool = new Pool(origin, { connections: 1 });
});

afterAll(async () => {
  await pool.close().catch(() => undefined);
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const post = (path: string, extra: Partial<Parameters<typeof bufferedExchange>[1]> = {}) => ({
  origin,
  path,
  method: 'POST' as const,
  headers: { 'content-type': 'application/json' },
  body: '{}',
  ...extra,
});

describe('bufferedExchange', () => {
  it('collects a body sent in several writes, with status and headers', async () => {
    const exchange = await bufferedExchange(pool, post('/chunks'), new AbortController().signal);
    expect(exchange.statusCode).toBe(200);
    expect(exchange.headers['x-extra']).toBe('yes');
    expect(JSON.parse(exchange.text)).toEqual({ parts: [1, 2, 3] });
  });

  it('resolves error statuses with their body and headers (the caller maps them)', async () => {
    const exchange = await bufferedExchange(pool, post('/error'), new AbortController().signal);
    expect(exchange.statusCode).toBe(429);
    expect(exchange.headers['retry-after']).toBe('2');
    expect(exchange.text).toContain('slow down');
  });

  it('keeps undici timeout codes', async () => {
    await expect(
      bufferedExchange(pool, post('/stall', { bodyTimeout: 100 }), new AbortController().signal),
    ).rejects.toMatchObject({
      code: 'UND_ERR_BODY_TIMEOUT',
    });
    await expect(
      bufferedExchange(pool, post('/slow-headers', { headersTimeout: 100 }), new AbortController().signal),
    ).rejects.toMatchObject({
      code: 'UND_ERR_HEADERS_TIMEOUT',
    });
  });

  it('bounds the whole answer with its own timer, with the same codes, and settles once', async () => {
    const headersLate = bufferedExchange(pool, post('/slow-headers'), new AbortController().signal, undefined, 100);
    await expect(headersLate).rejects.toMatchObject({ code: 'UND_ERR_HEADERS_TIMEOUT' });
    const bodyStalled = bufferedExchange(pool, post('/stall'), new AbortController().signal, undefined, 100);
    await expect(bodyStalled).rejects.toMatchObject({ code: 'UND_ERR_BODY_TIMEOUT' });
    // An answer within the limit resolves, and its cleared timer fires nothing afterwards.
    const quick = await bufferedExchange(pool, post('/chunks'), new AbortController().signal, undefined, 150);
    expect(JSON.parse(quick.text)).toEqual({ parts: [1, 2, 3] });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = await bufferedExchange(pool, post('/other'), new AbortController().signal, undefined, 150);
    expect(after.text).toBe('{}');
  });

  it('rejects with the signal reason: already aborted (nothing sent), queued (never sent) and mid-answer', async () => {
    const reason = new Error('client went away');
    const before = seen.length;
    await expect(bufferedExchange(pool, post('/never'), AbortSignal.abort(reason))).rejects.toBe(reason);

    // One connection: the second request waits in the pool's queue behind the slow one.
    const slow = bufferedExchange(pool, post('/slow-first'), new AbortController().signal);
    const controller = new AbortController();
    const queued = bufferedExchange(pool, post('/queued'), controller.signal);
    controller.abort(reason);
    await expect(queued).rejects.toBe(reason);
    expect((await slow).text).toBe('late');

    const midAnswer = new AbortController();
    const stalled = bufferedExchange(pool, post('/stall'), midAnswer.signal);
    setTimeout(() => midAnswer.abort(reason), 30);
    await expect(stalled).rejects.toBe(reason);
    expect(seen.slice(before)).not.toContain('/never');
    expect(seen.slice(before)).not.toContain('/queued');
  });
});
