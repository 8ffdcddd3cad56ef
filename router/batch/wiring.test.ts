// The Batch API inside the full router app (router/app.ts): multipart uploads pass the app's JSON reader, batch
// lines go through the router's dispatcher to the simulated pool, and closing the router stops the scheduler.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_SCHEDULING, startReplicas, startTestRouter, vllmPool, type TestRouter } from '../testing/harness.ts';
import { chatBatchLines } from './testing.ts';

let router: TestRouter;
let root: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'switchyard-batch-app-'));
  const replicas = await startReplicas([{ model: 'llama-3.1-8b' }]);
  router = await startTestRouter(
    {
      pools: [vllmPool('gpu', replicas)],
      models: [{ name: 'llama-3.1-8b', route: ['gpu'] }],
      scheduling: FAST_SCHEDULING,
      batch: { root, pollIntervalMs: 20 },
    },
    {},
    replicas,
  );
});

afterAll(async () => {
  await router?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('Batch API in the router app', () => {
  it('serves files and batches next to the interactive API', async () => {
    const { client } = router;
    const file = await client.files.create({
      file: await toFile(Buffer.from(chatBatchLines(10, 'llama-3.1-8b')), 'in.jsonl'),
      purpose: 'batch',
    });
    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const deadline = Date.now() + 20_000;
    let batch = created;
    while (!['completed', 'failed'].includes(batch.status) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      batch = await client.batches.retrieve(created.id);
    }
    expect(batch.status).toBe('completed');
    expect(batch.request_counts).toEqual({ total: 10, completed: 10, failed: 0 });
    const lines = (await (await client.files.content(batch.output_file_id!)).text()).trim().split('\n');
    expect(lines).toHaveLength(10);
    // The interactive API and its JSON errors are untouched.
    await expect(
      client.chat.completions.create({
        model: 'llama-3.1-8b',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 4,
      }),
    ).resolves.toMatchObject({ object: 'chat.completion' });
    const metrics = await (await fetch(`${router.router.url}/metrics`)).text();
    expect(metrics).toContain('switchyard_batch_requests_total{outcome="succeeded"} 10');
  });
});
