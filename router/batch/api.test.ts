// The openai SDK's files and batches resources, unchanged, against the batch router on its own Express app with
// real simulator replicas behind it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimReplica, type SimReplica } from '../../models/sim/index.ts';
import { chatBatchLines, replicaPool, serveBatchApi, type BatchTestServer } from './testing.ts';

const MODEL = 'llama-3.1-8b';
let replicas: SimReplica[];
let served: BatchTestServer;
let client: OpenAI;
let root: string;

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const FINAL = new Set(['completed', 'failed', 'expired', 'cancelled']);
const upload = async (text: string, name = 'input.jsonl') =>
  client.files.create({ file: await toFile(Buffer.from(text), name), purpose: 'batch' });
const create = (fileId: string, metadata?: Record<string, string>) =>
  client.batches.create({
    input_file_id: fileId,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
    ...(metadata ? { metadata } : {}),
  });
const untilFinal = (id: string) =>
  waitFor(
    () => client.batches.retrieve(id),
    (batch) => FINAL.has(batch.status),
  );

beforeAll(async () => {
  replicas = await Promise.all([
    startSimReplica({ model: MODEL, speed: 50 }),
    startSimReplica({ model: MODEL, speed: 50 }),
  ]);
  root = mkdtempSync(join(tmpdir(), 'switchyard-batch-'));
  const pool = replicaPool(replicas);
  served = await serveBatchApi({
    root,
    dispatcher: pool.dispatcher,
    load: pool.load,
    owner: (request) => (typeof request.headers['x-owner'] === 'string' ? request.headers['x-owner'] : null),
    config: {
      pollIntervalMs: 20,
      maxFileBytes: 256 * 1024,
      maxLines: 300,
      maxLineBytes: 2_000,
      admission: { maxInFlightPerModel: 16 },
    },
  });
  client = new OpenAI({ baseURL: served.baseURL, apiKey: 'unused', maxRetries: 0, timeout: 20_000 });
});

afterAll(async () => {
  await served?.close();
  await Promise.allSettled((replicas ?? []).map((replica) => replica.close()));
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('files', () => {
  it('uploads (multipart), retrieves, lists, downloads and deletes', async () => {
    const text = chatBatchLines(3, MODEL);
    const file = await upload(text, 'three.jsonl');
    expect(file).toMatchObject({
      object: 'file',
      purpose: 'batch',
      filename: 'three.jsonl',
      bytes: Buffer.byteLength(text),
      status: 'processed',
    });
    expect(file.id).toMatch(/^file-/);
    expect(await client.files.retrieve(file.id)).toEqual(file);
    expect(await (await client.files.content(file.id)).text()).toBe(text);
    const listed = [];
    for await (const item of client.files.list({ purpose: 'batch' })) listed.push(item.id);
    expect(listed).toContain(file.id);
    expect(await client.files.delete(file.id)).toEqual({ id: file.id, object: 'file', deleted: true });
    await expect(client.files.retrieve(file.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('refuses oversize uploads (413), other purposes and non-multipart bodies (400)', async () => {
    const big = 'x'.repeat(400 * 1024);
    await expect(upload(big)).rejects.toMatchObject({ status: 413 });
    await expect(
      client.files.create({ file: await toFile(Buffer.from('{}'), 'a.jsonl'), purpose: 'fine-tune' }),
    ).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    const raw = await fetch(`${served.baseURL}/files`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(raw.status).toBe(400);
    expect(((await raw.json()) as { error: { code: string } }).error.code).toBe('invalid_content_type');
  });
});

describe('batches', () => {
  it('runs 200 chat requests to completed; every custom_id answered exactly once', async () => {
    const file = await upload(chatBatchLines(200, MODEL));
    const created = await create(file.id, { job: 'nightly' });
    expect(created).toMatchObject({
      object: 'batch',
      status: 'validating',
      endpoint: '/v1/chat/completions',
      input_file_id: file.id,
      completion_window: '24h',
      metadata: { job: 'nightly' },
    });
    expect(created.expires_at! - created.created_at).toBe(24 * 3600);
    const done = await untilFinal(created.id);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 200, completed: 200, failed: 0 });
    expect(done.error_file_id).toBeNull();
    expect(done.in_progress_at).toBeGreaterThanOrEqual(done.created_at);
    expect(done.completed_at).toBeGreaterThanOrEqual(done.finalizing_at!);
    expect(done.usage!.input_tokens).toBeGreaterThan(200);
    expect(done.usage!.output_tokens).toBeGreaterThan(0);
    const output = await (await client.files.content(done.output_file_id!)).text();
    const lines = output
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as {
            id: string;
            custom_id: string;
            response: { status_code: number; body: { choices: unknown[] } };
            error: null;
          },
      );
    expect(lines).toHaveLength(200);
    expect(new Set(lines.map((line) => line.custom_id)).size).toBe(200);
    for (const line of lines) {
      expect(line.id).toMatch(/^batch_req_/);
      expect(line.response.status_code).toBe(200);
      expect(line.response.body.choices).toHaveLength(1);
      expect(line.error).toBeNull();
    }
    expect(await client.files.retrieve(done.output_file_id!)).toMatchObject({
      purpose: 'batch_output',
      filename: `${done.id}_output.jsonl`,
    });
  });

  it('fails a bad file at validating with errors naming the lines', async () => {
    const good = chatBatchLines(3, MODEL).trim().split('\n');
    const lines = [
      good[0],
      '{"custom_id": "broken",',
      good[1],
      good[0],
      good[2]!.replace('/v1/chat/completions', '/v1/embeddings'),
      JSON.stringify({
        custom_id: 'huge',
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: MODEL, messages: [{ role: 'user', content: 'y'.repeat(3_000) }] },
      }),
    ];
    const batch = await create((await upload(lines.join('\n'))).id);
    const failed = await untilFinal(batch.id);
    expect(failed.status).toBe('failed');
    expect(failed.failed_at).not.toBeNull();
    expect(failed.errors!.data!.map((error) => [error.line, error.code])).toEqual([
      [2, 'invalid_json_line'],
      [4, 'duplicate_custom_id'],
      [5, 'mismatched_url'],
      [6, 'line_too_large'],
    ]);
    expect(failed.request_counts).toEqual({ total: 0, completed: 0, failed: 0 });
  });

  it('rejects bad create parameters with typed SDK errors', async () => {
    const file = await upload(chatBatchLines(1, MODEL));
    await expect(create('file-doesnotexist')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(
      client.batches.create({ input_file_id: file.id, endpoint: '/v1/moderations', completion_window: '24h' }),
    ).rejects.toMatchObject({ status: 400, param: 'endpoint' });
    await expect(
      client.batches.create({
        input_file_id: file.id,
        endpoint: '/v1/chat/completions',
        completion_window: '48h' as '24h',
      }),
    ).rejects.toMatchObject({ status: 400, param: 'completion_window' });
    await expect(client.batches.retrieve('batch_nope')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('answers a line the model rejects in the error file, with its upstream status', async () => {
    const lines = [
      JSON.stringify({
        custom_id: 'ok',
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 },
      }),
      JSON.stringify({
        custom_id: 'bad',
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] },
      }),
    ];
    const done = await untilFinal((await create((await upload(lines.join('\n'))).id)).id);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 2, completed: 1, failed: 1 });
    const errors = (await (await client.files.content(done.error_file_id!)).text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { custom_id: string; response: { status_code: number } });
    expect(errors).toEqual([
      expect.objectContaining({ custom_id: 'bad', response: expect.objectContaining({ status_code: 404 }) }),
    ]);
  });

  it('cancels mid-run: finished lines in the output, the rest batch_cancelled in the error file', async () => {
    const text = chatBatchLines(60, MODEL, { max_tokens: 400, ignore_eos: true });
    const batch = await create((await upload(text)).id);
    await waitFor(
      () => client.batches.retrieve(batch.id),
      (current) => (current.request_counts?.completed ?? 0) >= 2,
    );
    const cancelling = await client.batches.cancel(batch.id);
    expect(['cancelling', 'cancelled']).toContain(cancelling.status);
    const done = await untilFinal(batch.id);
    expect(done.status).toBe('cancelled');
    expect(done.cancelled_at).not.toBeNull();
    const counts = done.request_counts!;
    expect(counts.completed).toBeGreaterThanOrEqual(2);
    expect(counts.completed).toBeLessThan(60);
    expect(counts.completed + counts.failed).toBe(60);
    const output = (await (await client.files.content(done.output_file_id!)).text()).trim().split('\n');
    const errors = (await (await client.files.content(done.error_file_id!)).text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { custom_id: string; error: { code: string } });
    expect(output).toHaveLength(counts.completed);
    expect(errors).toHaveLength(counts.failed);
    expect(new Set(errors.map((line) => line.error.code))).toEqual(new Set(['batch_cancelled']));
    await expect(client.batches.cancel(batch.id)).rejects.toMatchObject({ status: 409 });
  });

  it('lists batches newest first with after/limit pagination', async () => {
    const ids = [];
    for await (const batch of client.batches.list({ limit: 2 })) ids.push(batch.id);
    expect(ids.length).toBeGreaterThanOrEqual(4);
    expect(new Set(ids).size).toBe(ids.length);
    const first = await client.batches.list({ limit: 2 });
    expect(first.data.map((batch) => batch.id)).toEqual(ids.slice(0, 2));
    expect(first.has_more).toBe(true);
    const second = await client.batches.list({ limit: 2, after: ids[1]! });
    expect(second.data.map((batch) => batch.id)).toEqual(ids.slice(2, 4));
    const created = await Promise.all(ids.map((id) => client.batches.retrieve(id)));
    for (let index = 1; index < created.length; index++)
      expect(created[index]!.created_at).toBeLessThanOrEqual(created[index - 1]!.created_at);
  });

  it("keeps each owner's files and batches to itself", async () => {
    const alice = new OpenAI({
      baseURL: served.baseURL,
      apiKey: 'unused',
      maxRetries: 0,
      defaultHeaders: { 'x-owner': 'alice' },
    });
    const bob = new OpenAI({
      baseURL: served.baseURL,
      apiKey: 'unused',
      maxRetries: 0,
      defaultHeaders: { 'x-owner': 'bob' },
    });
    const file = await alice.files.create({
      file: await toFile(Buffer.from(chatBatchLines(2, MODEL)), 'a.jsonl'),
      purpose: 'batch',
    });
    const batch = await alice.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    expect((await alice.batches.retrieve(batch.id)).id).toBe(batch.id);
    await expect(bob.batches.retrieve(batch.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(bob.files.content(file.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(bob.batches.cancel(batch.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(
      bob.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect((await bob.batches.list()).data).toEqual([]);
    expect((await client.batches.list({ limit: 100 })).data.map((item) => item.id)).not.toContain(batch.id);
    expect((await alice.batches.list()).data.map((item) => item.id)).toEqual([batch.id]);
    const done = await waitFor(
      () => alice.batches.retrieve(batch.id),
      (current) => FINAL.has(current.status),
    );
    expect((await alice.files.retrieve(done.output_file_id!)).purpose).toBe('batch_output');
    await expect(bob.files.retrieve(done.output_file_id!)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });
});
