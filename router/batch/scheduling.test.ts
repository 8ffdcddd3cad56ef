// The scheduler against real simulator replicas: expiry on a virtual clock, pause and preemption under interactive
// load, and restarts (in-process close/reopen, and the real router process killed with SIGKILL) that lose nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import OpenAI, { toFile } from 'openai';
import { stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimReplica, type SimReplica } from '../../models/sim/index.ts';
import { BatchStore } from './store.ts';
import { chatBatchLines, replicaPool, serveBatchApi, type BatchTestServer } from './testing.ts';

const MODEL = 'llama-3.1-8b';
const FINAL = new Set(['completed', 'failed', 'expired', 'cancelled']);
let replica: SimReplica;
const roots: string[] = [];
const cleanups: Array<() => Promise<void>> = [];

function freshRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'switchyard-batch-sched-'));
  roots.push(root);
  return root;
}

async function waitFor<T>(read: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function sdk(baseURL: string): OpenAI {
  return new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0, timeout: 20_000 });
}

async function submit(client: OpenAI, text: string): Promise<string> {
  const file = await client.files.create({ file: await toFile(Buffer.from(text), 'in.jsonl'), purpose: 'batch' });
  const batch = await client.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  });
  return batch.id;
}

async function outputIds(client: OpenAI, fileId: string | null | undefined): Promise<string[]> {
  if (!fileId) return [];
  const text = await (await client.files.content(fileId)).text();
  return text
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { custom_id: string }).custom_id);
}

beforeAll(async () => {
  replica = await startSimReplica({ model: MODEL, speed: 20 });
});
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});
afterAll(async () => {
  await replica?.close();
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

describe('batch scheduler', () => {
  it('expires after the window on a virtual clock: in-flight aborted, the rest batch_expired', async () => {
    let now = Date.parse('2026-11-27T00:00:00Z');
    const pool = replicaPool([replica]);
    const served = await serveBatchApi({
      root: freshRoot(),
      dispatcher: pool.dispatcher,
      load: pool.load,
      clock: () => now,
      autoStart: false,
      config: { admission: { maxInFlightPerModel: 1 } },
    });
    cleanups.push(() => served.close());
    const client = sdk(served.baseURL);
    const abortedBefore = (await replica.stats()).requestsAborted;
    const id = await submit(client, chatBatchLines(5, MODEL, { max_tokens: 20_000, ignore_eos: true }));
    await served.api.scheduler.tick();
    await served.api.scheduler.tick();
    expect((await client.batches.retrieve(id)).status).toBe('in_progress');
    await waitFor(
      () => pool.inFlight(),
      (count) => count === 1,
    );
    now += 23 * 3600 * 1000;
    await served.api.scheduler.tick();
    expect((await client.batches.retrieve(id)).status).toBe('in_progress');
    now += 3600 * 1000 + 1000;
    await served.api.scheduler.tick();
    const expired = await client.batches.retrieve(id);
    expect(expired.status).toBe('expired');
    expect(expired.expired_at).toBe(Math.floor(now / 1000));
    expect(expired.request_counts).toEqual({ total: 5, completed: 0, failed: 5 });
    expect(expired.output_file_id).toBeNull();
    const errors = (await (await client.files.content(expired.error_file_id!)).text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { custom_id: string; error: { code: string } });
    expect(errors.map((line) => line.custom_id).sort()).toEqual([
      'request-0',
      'request-1',
      'request-2',
      'request-3',
      'request-4',
    ]);
    expect(new Set(errors.map((line) => line.error.code))).toEqual(new Set(['batch_expired']));
    expect(pool.inFlight()).toBe(0);
    await waitFor(
      () => replica.stats(),
      (stats) => stats.requestsAborted > abortedBefore,
      5_000,
    );
    expect((await replica.stats()).requestsAborted).toBeGreaterThan(abortedBefore);
  });

  it('pauses and preempts while interactive traffic runs, then completes when it drops', async () => {
    const pool = replicaPool([replica]);
    const served = await serveBatchApi({
      root: freshRoot(),
      dispatcher: pool.dispatcher,
      load: pool.load,
      config: { pollIntervalMs: 10, admission: { maxInFlightPerModel: 2, interactiveInFlightMax: 0 } },
    });
    cleanups.push(() => served.close());
    const client = sdk(served.baseURL);
    const id = await submit(client, chatBatchLines(12, MODEL, { max_tokens: 150, ignore_eos: true }));
    // Phase 1: idle pool, the batch runs.
    await waitFor(
      () => pool.inFlight(),
      (count) => count > 0,
    );
    expect(pool.inFlight()).toBeGreaterThan(0);
    // Phase 2: interactive requests arrive; batch requests in flight are preempted and nothing new is sent.
    const interactive = new AbortController();
    const streams = Array.from({ length: 3 }, () =>
      fetch(`${replica.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: MODEL,
          messages: [{ role: 'user', content: 'interactive' }],
          max_tokens: 30_000,
          ignore_eos: true,
          stream: true,
        }),
        signal: interactive.signal,
      }).then(
        // Keep reading: a closed stream would make the simulator abort the request.
        (response) => response.body?.pipeTo(new WritableStream()).catch(() => undefined),
        () => undefined,
      ),
    );
    await waitFor(
      () => served.api.scheduler.isPaused(MODEL) && pool.inFlight() === 0,
      (value) => value,
      5_000,
    );
    expect(served.api.scheduler.isPaused(MODEL)).toBe(true);
    expect(pool.inFlight()).toBe(0);
    const sentWhilePaused = pool.sent();
    const during = (await client.batches.retrieve(id)).request_counts!;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(pool.sent()).toBe(sentWhilePaused);
    const stillDuring = await client.batches.retrieve(id);
    expect(stillDuring.status).toBe('in_progress');
    expect(stillDuring.request_counts).toEqual(during);
    expect(during.completed).toBeLessThan(12);
    // Phase 3: interactive load ends; the batch resumes and finishes with every line exactly once.
    interactive.abort();
    await Promise.allSettled(streams);
    const done = await waitFor(
      () => client.batches.retrieve(id),
      (batch) => FINAL.has(batch.status),
    );
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 12, completed: 12, failed: 0 });
    const ids = await outputIds(client, done.output_file_id);
    expect(ids.sort()).toEqual(Array.from({ length: 12 }, (_, index) => `request-${index}`).sort());
  });

  it('retries transient upstream failures per request, then writes the last error to the error file', async () => {
    const flaky = await startSimReplica({ model: MODEL, speed: 50, seed: 7 });
    cleanups.push(() => flaky.close());
    const pool = replicaPool([flaky]);
    const served = await serveBatchApi({
      root: freshRoot(),
      dispatcher: pool.dispatcher,
      load: pool.load,
      config: { pollIntervalMs: 10, retries: { maxAttempts: 3, initialDelayMs: 5, maxDelayMs: 20 } },
    });
    cleanups.push(() => served.close());
    const client = sdk(served.baseURL);
    // Always failing: each line is tried maxAttempts times, then lands in the error file with the upstream status.
    await flaky.setFaults({ errorRate: 1, errorStatuses: [503] });
    const failing = await submit(client, chatBatchLines(4, MODEL));
    const failed = await waitFor(
      () => client.batches.retrieve(failing),
      (batch) => FINAL.has(batch.status),
    );
    expect(failed.status).toBe('completed');
    expect(failed.request_counts).toEqual({ total: 4, completed: 0, failed: 4 });
    expect(pool.sent()).toBe(12);
    const errors = (await (await client.files.content(failed.error_file_id!)).text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { response: { status_code: number } });
    expect(errors.map((line) => line.response.status_code)).toEqual([503, 503, 503, 503]);
    // Sometimes failing: retries carry every line through.
    await flaky.setFaults({ errorRate: 0.2, errorStatuses: [503] });
    const sentBefore = pool.sent();
    const flakyBatch = await submit(client, chatBatchLines(40, MODEL));
    const done = await waitFor(
      () => client.batches.retrieve(flakyBatch),
      (batch) => FINAL.has(batch.status),
    );
    expect(done.request_counts!.completed + done.request_counts!.failed).toBe(40);
    expect(done.request_counts!.completed).toBeGreaterThanOrEqual(37);
    expect(pool.sent() - sentBefore).toBeGreaterThan(40);
  });

  it('resumes after an in-process restart without re-running finished lines', async () => {
    const root = freshRoot();
    const pool = replicaPool([replica]);
    const config = { pollIntervalMs: 10, admission: { maxInFlightPerModel: 3 } };
    let served: BatchTestServer = await serveBatchApi({ root, dispatcher: pool.dispatcher, load: pool.load, config });
    let client = sdk(served.baseURL);
    const id = await submit(client, chatBatchLines(30, MODEL, { max_tokens: 60, ignore_eos: true }));
    await waitFor(
      () => client.batches.retrieve(id),
      (batch) => (batch.request_counts?.completed ?? 0) >= 5,
    );
    await served.close();
    const finishedBefore = served.api.scheduler.dispatchedCount;
    const reader = new BatchStore(root);
    const completedAtClose = reader.getBatch(id)!.completed;
    reader.close();
    served = await serveBatchApi({ root, dispatcher: pool.dispatcher, load: pool.load, config });
    cleanups.push(() => served.close());
    client = sdk(served.baseURL);
    const resumed = await client.batches.retrieve(id);
    expect(resumed.request_counts!.completed).toBeGreaterThanOrEqual(5);
    const done = await waitFor(
      () => client.batches.retrieve(id),
      (batch) => FINAL.has(batch.status),
    );
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 30, completed: 30, failed: 0 });
    // The second instance only ran what the first had not finished.
    expect(served.api.scheduler.dispatchedCount).toBe(30 - completedAtClose);
    expect(finishedBefore).toBeGreaterThan(0);
    const ids = await outputIds(client, done.output_file_id);
    expect(ids).toHaveLength(30);
    expect(new Set(ids).size).toBe(30);
  });

  it('survives SIGKILL of the real router process (switchyard serve): no duplicates, no missing lines', async () => {
    const root = freshRoot();
    const configPath = join(root, 'switchyard.yaml');
    writeFileSync(
      configPath,
      stringify({
        pools: [
          { name: 'gpu', kind: 'vllm', model: MODEL, gpu: 'h100', backends: [{ id: 'gpu-0', url: replica.url }] },
        ],
        models: [{ name: MODEL, route: ['gpu'] }],
        scheduling: { scrapeIntervalMs: 20, staleAfterMs: 2_000 },
        batch: { root: join(root, 'data'), pollIntervalMs: 10, admission: { maxInFlightPerModel: 4 } },
      }),
    );
    const start = async (): Promise<{ child: ChildProcess; baseURL: string }> => {
      const child = spawn(
        process.execPath,
        [join(import.meta.dirname, '../../bin/switchyard.js'), 'serve', '--config', configPath, '--port', '0'],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      cleanups.push(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      });
      const lines = createInterface({ input: child.stdout! });
      const url = await new Promise<string>((resolve, reject) => {
        lines.on('line', (line) => {
          const match = /listening on (http:\/\/\S+)/.exec(line);
          if (match) resolve(match[1]!);
        });
        child.once('exit', (code) => reject(new Error(`router exited with ${code}`)));
      });
      return { child, baseURL: `${url}/v1` };
    };
    const first = await start();
    let client = sdk(first.baseURL);
    const id = await submit(client, chatBatchLines(40, MODEL, { max_tokens: 60, ignore_eos: true }));
    const before = await waitFor(
      () => client.batches.retrieve(id),
      (batch) => (batch.request_counts?.completed ?? 0) >= 8,
    );
    expect(before.status).toBe('in_progress');
    const exited = new Promise((resolve) => first.child.once('exit', resolve));
    first.child.kill('SIGKILL');
    await exited;
    const second = await start();
    client = sdk(second.baseURL);
    const done = await waitFor(
      () => client.batches.retrieve(id),
      (batch) => FINAL.has(batch.status),
    );
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 40, completed: 40, failed: 0 });
    const ids = await outputIds(client, done.output_file_id);
    expect(ids).toHaveLength(40);
    expect(new Set(ids)).toEqual(new Set(Array.from({ length: 40 }, (_, index) => `request-${index}`)));
    second.child.kill('SIGTERM');
  });
});
