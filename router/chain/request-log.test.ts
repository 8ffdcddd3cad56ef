// The JSONL request log and its off-heap recent lines: findable at once, written in order, long and non-ASCII lines,
// eviction falling back to the file, hash collisions resolved by the file, and the bytes handed out exactly once.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonlRequestLog, requestLine, type LoggedRequest } from './request-log.ts';
import { BLOCK_BYTES, RecentLines, hashId } from './recent-lines.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-request-log-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const entry = (id: string, extra: Partial<LoggedRequest> = {}): LoggedRequest => ({
  type: 'request',
  id,
  timestamp: '2026-12-06T00:00:00.000Z',
  model: 'm',
  prompts: {},
  ...extra,
});

const fileIds = (path: string): string[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { id: string }).id);

describe('JsonlRequestLog', () => {
  it('finds a request at once by either id, and writes every line in the order logged', async () => {
    const path = join(dir, 'log', 'requests.jsonl');
    const log = new JsonlRequestLog(path);
    log.appendSoon(entry('req-1', { response_id: 'chatcmpl-1' }));
    log.appendSoon(entry('req-2', { request: { messages: [{ role: 'user', content: 'grüß dich 🚂' }] } }));
    expect(log.findRequest('req-1')?.id).toBe('req-1');
    expect(log.findRequest('chatcmpl-1')?.id).toBe('req-1');
    expect(log.findRequest('req-2')?.request).toEqual({ messages: [{ role: 'user', content: 'grüß dich 🚂' }] });
    expect(log.findRequest('nope')).toBeUndefined();
    // A feedback line is written synchronously, after what appendSoon gathered.
    log.append({
      type: 'feedback',
      id: 'fb-1',
      request_id: 'req-1',
      timestamp: 't',
      score: 1,
      model: null,
      prompts: {},
    });
    expect(fileIds(path)).toEqual(['req-1', 'req-2', 'fb-1']);
    expect(log.feedbackFor('req-1').map((feedback) => feedback.id)).toEqual(['fb-1']);
    // The timed append writes later lines once, after the earlier ones.
    for (let index = 3; index <= 60; index++) log.appendSoon(entry(`req-${index}`));
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(fileIds(path)).toEqual([
      'req-1',
      'req-2',
      'fb-1',
      ...Array.from({ length: 58 }, (_, index) => `req-${index + 3}`),
    ]);
  });

  it('writes a burst past the batch size in order', async () => {
    const path = join(dir, 'requests.jsonl');
    const log = new JsonlRequestLog(path);
    const padding = 'x'.repeat(900);
    for (let index = 0; index < 400; index++) log.appendSoon(entry(`burst-${index}`, { prompts: { padding } }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    log.flush();
    expect(fileIds(path)).toEqual(Array.from({ length: 400 }, (_, index) => `burst-${index}`));
  });

  it('finds requests dropped from memory, and ones whose hash a later id took, in the file', () => {
    const path = join(dir, 'requests.jsonl');
    const log = new JsonlRequestLog(path, 10);
    const padding = 'y'.repeat(2_000);
    for (let index = 0; index < 200; index++) log.appendSoon(entry(`old-${index}`, { prompts: { padding } }));
    log.flush();
    expect(log.findRequest('old-0')?.id).toBe('old-0');
    expect(log.findRequest('old-199')?.id).toBe('old-199');

    // Two ids with one 30-bit hash (a birthday search finds a pair within ~40k ids): the later one takes the slot.
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let index = 0; pair === undefined; index++) {
      const id = `collide-${index}`;
      const other = seen.get(hashId(id));
      if (other !== undefined) pair = [other, id];
      else seen.set(hashId(id), id);
    }
    log.appendSoon(entry(pair[0], { model: 'first' }));
    log.appendSoon(entry(pair[1], { model: 'second' }));
    log.flush();
    expect(log.findRequest(pair[0])?.model).toBe('first');
    expect(log.findRequest(pair[1])?.model).toBe('second');
  });
});

describe('RecentLines', () => {
  it('keeps at least the last lines asked for, drops older blocks and hands each byte out once', () => {
    const recent = new RecentLines({ keepLines: 100 });
    const line = (index: number): string => `${JSON.stringify({ id: `id-${index}`, pad: 'p'.repeat(500) })}\n`;
    let handedOut = '';
    for (let index = 0; index < 2_000; index++) {
      recent.add(line(index), [`id-${index}`]);
      if (index % 97 === 0) handedOut += recent.unwritten().toString('utf8');
    }
    handedOut += recent.unwritten().toString('utf8');
    expect(recent.unwritten().length).toBe(0);
    expect(handedOut).toBe(Array.from({ length: 2_000 }, (_, index) => line(index)).join(''));
    for (let index = 1_900; index < 2_000; index++) expect(recent.find(`id-${index}`)).toBe(line(index));
    // ~120 lines fit a block: the first ones are long gone.
    expect(recent.find('id-0')).toBeUndefined();
  });

  it('gives a line longer than a block a block of its own, and the next line a fresh one', () => {
    const recent = new RecentLines({ keepLines: 10 });
    const long = `${JSON.stringify({ id: 'long', text: 'é'.repeat(BLOCK_BYTES) })}\n`;
    recent.add('{"id":"before"}\n', ['before']);
    recent.add(long, ['long']);
    recent.add('{"id":"after"}\n', ['after']);
    expect(recent.find('before')).toBe('{"id":"before"}\n');
    expect(recent.find('long')).toBe(long);
    expect(recent.find('after')).toBe('{"id":"after"}\n');
    expect(recent.unwritten().toString('utf8')).toBe(`{"id":"before"}\n${long}{"id":"after"}\n`);
  });

  it('keeps no more than its byte bound, however many lines it was asked to keep', () => {
    const recent = new RecentLines({ keepLines: 1_000_000, maxBytes: 2 * BLOCK_BYTES });
    const line = (index: number): string => `${JSON.stringify({ index, pad: 'b'.repeat(4_000) })}\n`;
    for (let index = 0; index < 500; index++) {
      recent.add(line(index), [`b-${index}`]);
      recent.unwritten();
    }
    // ~2 MB logged, 128 KiB kept: the newest lines are there, everything older than ~3 blocks is gone.
    expect(recent.find('b-499')).toBe(line(499));
    expect(recent.find('b-480')).toBe(line(480));
    expect(recent.find('b-400')).toBeUndefined();
    expect(recent.find('b-0')).toBeUndefined();
  });

  it('never drops bytes not yet handed out, and drops down to its bounds once they are', () => {
    const recent = new RecentLines({ keepLines: 1, maxBytes: 2 * BLOCK_BYTES });
    const line = (index: number): string => `${JSON.stringify({ index, pad: 'z'.repeat(1_000) })}\n`;
    for (let index = 0; index < 1_000; index++) recent.add(line(index), [`k-${index}`]);
    // ~1 MB, far past the byte bound, not handed out yet: all of it is still there.
    expect(recent.find('k-0')).toBe(line(0));
    expect(recent.unwritten().toString('utf8')).toBe(Array.from({ length: 1_000 }, (_, index) => line(index)).join(''));
    for (let index = 1_000; index < 1_100; index++) recent.add(line(index), [`k-${index}`]);
    expect(recent.find('k-0')).toBeUndefined();
    expect(recent.find('k-999')).toBe(line(999));
    expect(recent.find('k-1099')).toBe(line(1_099));
  });
});

describe('requestLine', () => {
  it('writes what JSON.stringify writes, for the lines it builds itself and the ones it hands on', () => {
    const entries: LoggedRequest[] = [
      entry('8707be4c-67f3-4e60-8092-faec72765f12', { latency_ms: 12 }),
      entry('req-1', { model: null, latency_ms: 0 }),
      entry('req.2:x', { model: 'llama "3.1" \\ 8b\n', prompts: { prompt: 'support-answer@3' }, latency_ms: 1.5 }),
      entry('req-3'),
      entry('req-4', { latency_ms: Number.NaN }),
      entry('needs "escaping"', { latency_ms: 3 }),
      entry('grüß-🚂', { latency_ms: 3 }),
      entry('req-5', { response_id: 'chatcmpl-1', latency_ms: 3 }),
      entry('req-6', { request: { messages: [] }, latency_ms: 3 }),
      entry('req-7', { verification: { status: 'passed', regenerated: false }, cost_usd: 0.01 }),
      entry('req-8', { timestamp: 'odd "time"', latency_ms: 3 }),
    ];
    for (const logged of entries) {
      const line = requestLine(logged);
      expect(line).toBe(`${JSON.stringify(logged)}\n`);
      expect(JSON.parse(line)).toEqual(JSON.parse(JSON.stringify(logged)));
    }
  });
});
