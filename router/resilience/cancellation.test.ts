import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cancellation } from './cancellation.ts';
import { sleep } from './backoff.ts';

describe('Cancellation', () => {
  it('calls each listener once, in order, with the first reason kept; removed listeners are not called', () => {
    const cancellation = new Cancellation();
    const calls: string[] = [];
    const removed = (): void => {
      calls.push('removed');
    };
    cancellation.addEventListener('abort', () => calls.push(`a:${String(cancellation.reason)}`));
    cancellation.addEventListener('abort', removed);
    cancellation.addEventListener('abort', () => calls.push('b'));
    cancellation.removeEventListener('abort', removed);
    expect(cancellation.aborted).toBe(false);
    cancellation.abort('first');
    cancellation.abort('second');
    expect(cancellation.aborted).toBe(true);
    expect(cancellation.reason).toBe('first');
    expect(calls).toEqual(['a:first', 'b']);
  });

  it('a listener added after the abort is never called (check `aborted` first, as with AbortSignal)', () => {
    const cancellation = new Cancellation();
    cancellation.abort(new Error('gone'));
    let called = false;
    cancellation.addEventListener('abort', () => (called = true));
    expect(called).toBe(false);
  });

  it('wakes a backoff sleep at once with its reason', async () => {
    const cancellation = new Cancellation();
    const sleeping = sleep(60_000, cancellation);
    const reason = new Error('client closed');
    cancellation.abort(reason);
    await expect(sleeping).rejects.toBe(reason);
  });
});

describe('Cancellation as an undici request signal', () => {
  let server: ReturnType<typeof createServer>;
  let pool: Pool;
  let closedByClient: Promise<void>;
  beforeAll(async () => {
    let markClosed: () => void = () => {};
    closedByClient = new Promise((resolve) => (markClosed = resolve));
    // Answers headers, then never finishes the body.
    server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: {}\n\n');
      response.on('close', markClosed);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  afterAll(async () => {
    await pool.close();
    server.close();
  });

  it('aborting it destroys the body mid-stream and the server sees the connection close', async () => {
    const cancellation = new Cancellation();
    const response = await pool.request({ path: '/', method: 'GET', signal: cancellation as unknown as AbortSignal });
    const reading = (async () => {
      for await (const piece of response.body) void piece;
    })();
    const reason = new Error('deadline');
    cancellation.abort(reason);
    await expect(reading).rejects.toBe(reason);
    await closedByClient;
  });
});
