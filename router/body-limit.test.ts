// Bodies over server.bodyLimit: the 413 reaches the client every time. Answering while the client still writes and
// then closing the socket made the client see EPIPE/ECONNRESET (and the SDK retry) instead of the 413, so the router
// reads and discards the rest of the body (bounded) before answering. The official openai SDK, 50 times in a row,
// against `switchyard serve` (embedded default, 4 MiB limit) in its own process: in one event loop with the client
// the race does not show.
import { connect } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discardBound } from './routes/json-body.ts';
import { startServeProcess, type ServeProcess } from './testing/serve-process.ts';

let serve: ServeProcess;

beforeAll(async () => {
  serve = await startServeProcess();
}, 120_000);
afterAll(async () => {
  await serve?.kill();
});

describe('over-limit bodies', () => {
  it('gets the 413 through the official SDK 50 times in a row (5 MiB chat body, 4 MiB limit)', async () => {
    const client = new OpenAI({ baseURL: `${serve.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 30_000 });
    const content = 'x'.repeat(5 * 1024 * 1024);
    const outcomes: string[] = [];
    for (let attempt = 0; attempt < 50; attempt++) {
      const failure = await client.chat.completions
        .create({ model: 'small', messages: [{ role: 'user', content }] })
        .then(
          () => 'answered',
          (error: unknown) => error,
        );
      outcomes.push(
        failure instanceof OpenAI.APIError && failure.status === 413 && failure.code === 'request_too_large'
          ? '413'
          : String(failure instanceof Error ? `${failure.constructor.name}: ${failure.message}` : failure),
      );
    }
    expect(outcomes.filter((outcome) => outcome !== '413')).toEqual([]);
    // The router still serves afterwards.
    const ok = await client.chat.completions.create({ model: 'small', messages: [{ role: 'user', content: 'hi' }] });
    expect(ok.object).toBe('chat.completion');
  }, 240_000);

  it('answers the 413 and closes when a client keeps sending past the discard bound', async () => {
    const bound = discardBound(4 * 1024 * 1024);
    const socket = connect(Number(new URL(serve.url).port), '127.0.0.1');
    let received = '';
    socket.on('data', (piece: Buffer) => (received += piece.toString()));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${bound * 4}\r\n\r\n`,
    );
    const piece = Buffer.alloc(1024 * 1024, 0x20);
    for (let sent = 0; sent < bound + 4 * 1024 * 1024 && !socket.destroyed && received === ''; sent += piece.length) {
      // The server stops reading once it answers: wait for drain or the end of the socket, whichever comes.
      if (!socket.write(piece)) {
        await new Promise((resolve) => {
          socket.once('drain', resolve);
          socket.once('close', resolve);
        });
      }
    }
    await closed;
    expect(received).toMatch(/^HTTP\/1\.1 413/);
    expect(received).toContain('request_too_large');
  }, 60_000);
});
