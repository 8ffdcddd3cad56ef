// streamedExchange against a real node:http server: pieces in order, a body far larger than the high-water mark read
// by a slow consumer (undici paused and resumed, nothing lost), leaving early and aborting (the server sees its
// connection close), error statuses and undici's body timeout; decoding pieces into events in undici's callback.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cancellation } from '../resilience/cancellation.ts';
import { streamedExchange, type PieceDecoder } from './streamed-exchange.ts';

let server: Server;
let pool: Pool;
let origin: string;
const closed = new Map<string, Promise<void>>();

beforeAll(async () => {
  server = createServer((request, response) => {
    const url = request.url ?? '';
    let markClosed: () => void = () => {};
    closed.set(url, new Promise((resolve) => (markClosed = resolve)));
    response.on('close', markClosed);
    if (url.startsWith('/events')) {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      let sent = 0;
      const timer = setInterval(() => {
        response.write(`data: ${sent}\n\n`);
        if (++sent === 5) {
          clearInterval(timer);
          response.end();
        }
      }, 2);
    } else if (url === '/large') {
      // 2000 writes of 1 KiB, as fast as the socket takes them.
      response.writeHead(200);
      let index = 0;
      const pump = (): void => {
        while (index < 2000) {
          const line = `${String(index).padStart(8, '0')}${'x'.repeat(1015)}\n`;
          index++;
          if (!response.write(line)) {
            response.once('drain', pump);
            return;
          }
        }
        response.end();
      };
      pump();
    } else if (url.startsWith('/endless')) {
      response.writeHead(200);
      const timer = setInterval(() => response.write('data: tick\n\n'), 5);
      response.on('close', () => clearInterval(timer));
    } else if (url === '/error') {
      response.writeHead(503, { 'retry-after': '1' });
      response.end('{"error":{"message":"overloaded"}}');
    } else if (url === '/stall') {
      response.writeHead(200);
      response.write('data: first\n\n');
    } else {
      response.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  pool = new Pool(origin, { connections: 4 });
});

afterAll(async () => {
  await pool.close().catch(() => undefined);
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const post = (path: string, extra: Record<string, unknown> = {}) => ({
  origin,
  path,
  method: 'POST' as const,
  body: '{}',
  ...extra,
});

/** Reads everything; with `pauseMs`, stops that long after every 10th piece (a consumer slower than the socket). */
async function readAll(body: AsyncIterable<Buffer>, pauseMs = 0): Promise<string> {
  const pieces: Buffer[] = [];
  for await (const piece of body) {
    pieces.push(piece);
    if (pauseMs > 0 && pieces.length % 10 === 0) await delay(pauseMs);
  }
  return Buffer.concat(pieces).toString('utf8');
}

describe('streamedExchange', () => {
  it('resolves at the head and yields the pieces in order until the end', async () => {
    const exchange = await streamedExchange(pool, post('/events'), new Cancellation());
    expect(exchange.statusCode).toBe(200);
    expect(exchange.headers['content-type']).toBe('text/event-stream');
    expect(await readAll(exchange.body)).toBe('data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n');
  });

  it('a slow consumer of a large body gets every byte (undici paused past the high-water mark, then resumed)', async () => {
    const exchange = await streamedExchange(pool, post('/large'), new Cancellation());
    const text = await readAll(exchange.body, 5);
    const lines = text.split('\n').filter(Boolean);
    expect(lines).toHaveLength(2000);
    expect(lines.map((line) => Number(line.slice(0, 8)))).toEqual(Array.from({ length: 2000 }, (_, index) => index));
  });

  it('leaving the loop early aborts the request: the server sees the connection close', async () => {
    const exchange = await streamedExchange(pool, post('/endless'), new Cancellation());
    let seen = 0;
    for await (const piece of exchange.body) {
      void piece;
      if (++seen === 2) break;
    }
    await closed.get('/endless');
  });

  it('an abort mid-stream rejects the next read with its reason and closes the connection', async () => {
    const cancellation = new Cancellation();
    const exchange = await streamedExchange(pool, post('/endless', { path: '/endless?abort' }), cancellation);
    const reading = readAll(exchange.body);
    await delay(20);
    const reason = new Error('client went away');
    cancellation.abort(reason);
    await expect(reading).rejects.toBe(reason);
    await closed.get('/endless?abort');
  });

  it('an abort before sending rejects at once and sends nothing', async () => {
    const cancellation = new Cancellation();
    const reason = new Error('deadline');
    cancellation.abort(reason);
    await expect(streamedExchange(pool, post('/events?never'), cancellation)).rejects.toBe(reason);
    expect(closed.has('/events?never')).toBe(false);
  });

  it('an error status comes with its headers and its body is readable', async () => {
    const exchange = await streamedExchange(pool, post('/error'), new Cancellation());
    expect(exchange.statusCode).toBe(503);
    expect(exchange.headers['retry-after']).toBe('1');
    expect(await readAll(exchange.body)).toContain('overloaded');
  });

  it("a body that goes quiet fails with undici's body timeout code", async () => {
    const exchange = await streamedExchange(pool, post('/stall', { bodyTimeout: 200 }), new Cancellation());
    await expect(readAll(exchange.body)).rejects.toMatchObject({ code: 'UND_ERR_BODY_TIMEOUT' });
  });

  describe('decode', () => {
    /** `data: N` events as numbers; throws on the event `failAt`, and at the end when `requireMore` is set. */
    function numbers(options: { failAt?: string; requireMore?: boolean } = {}): PieceDecoder<string> {
      let text = '';
      return {
        push(piece, out) {
          text += piece.toString('utf8');
          let boundary = text.indexOf('\n\n');
          while (boundary !== -1) {
            const data = text.slice(6, boundary);
            text = text.slice(boundary + 2);
            if (data === options.failAt) throw new Error(`bad event ${data}`);
            out.push(data);
            boundary = text.indexOf('\n\n');
          }
        },
        end() {
          if (options.requireMore) throw new Error('ended early');
        },
        mapError: (error) => new Error(`mapped: ${(error as Error).message}`),
      };
    }

    async function collect(items: AsyncIterable<string>): Promise<{ items: string[]; error?: Error }> {
      const seen: string[] = [];
      try {
        for await (const item of items) seen.push(item);
        return { items: seen };
      } catch (error) {
        return { items: seen, error: error as Error };
      }
    }

    it('yields the decoded items in order, pieces that arrived before decode() included', async () => {
      const exchange = await streamedExchange(pool, post('/events', { path: '/events?decode' }), new Cancellation());
      await delay(30);
      expect(await collect(exchange.decode(numbers()))).toEqual({ items: ['0', '1', '2', '3', '4'] });
    });

    it('a piece the decoder rejects: the items before it arrive, then the mapped error, and the connection closes', async () => {
      const exchange = await streamedExchange(pool, post('/endless', { path: '/endless?decode' }), new Cancellation());
      let count = 0;
      const decoder = numbers();
      const failing: PieceDecoder<string> = {
        ...decoder,
        push(piece, out) {
          if (++count === 3) throw new Error('malformed');
          decoder.push(piece, out);
        },
      };
      const result = await collect(exchange.decode(failing));
      expect(result.items.length).toBeGreaterThanOrEqual(2);
      expect(result.items.every((item) => item === 'tick')).toBe(true);
      expect(result.error?.message).toBe('mapped: malformed');
      await closed.get('/endless?decode');
    });

    it("a body that ends where the decoder says it must not: every item, then end()'s mapped error", async () => {
      const exchange = await streamedExchange(pool, post('/events', { path: '/events?early' }), new Cancellation());
      const result = await collect(exchange.decode(numbers({ requireMore: true })));
      expect(result.items).toEqual(['0', '1', '2', '3', '4']);
      expect(result.error?.message).toBe('mapped: ended early');
    });

    it('an abort while decoding rejects with the mapped reason', async () => {
      const cancellation = new Cancellation();
      const exchange = await streamedExchange(pool, post('/endless', { path: '/endless?decode-abort' }), cancellation);
      const reading = collect(exchange.decode(numbers()));
      await delay(20);
      cancellation.abort(new Error('client went away'));
      expect((await reading).error?.message).toBe('mapped: client went away');
      await closed.get('/endless?decode-abort');
    });
  });
});
