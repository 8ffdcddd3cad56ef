// The batch router on the real router runtime (dispatcher, scheduler, scraper) through adapters.ts: batches run on
// the self-hosted pool, never on the hosted tier of the same route unless the batch allows it and is at risk.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import OpenAI, { toFile } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimReplica, type SimReplica } from '../../models/sim/index.ts';
import { validateConfig } from '../config/load.ts';
import type { RouterConfigInput } from '../config/schema.ts';
import { createRouterRuntime } from '../runtime/runtime.ts';
import { routerBatchAdapters } from './adapters.ts';
import type { BatchConfigInput } from '../config/batch.ts';
import { createBatchRouter } from './router.ts';
import { chatBatchLines } from './testing.ts';

const MODEL = 'llama-3.1-8b';
const FINAL = new Set(['completed', 'failed', 'expired', 'cancelled']);
let gpu: SimReplica;
let hosted: SimReplica;
const cleanups: Array<() => Promise<void>> = [];

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function start(gpuUrl: string, batch: BatchConfigInput): Promise<OpenAI> {
  const config: RouterConfigInput = {
    pools: [
      { name: 'gpu', kind: 'vllm', model: 'llama-3.1-8b', gpu: 'h100', backends: [{ id: 'gpu-0', url: gpuUrl }] },
      {
        name: 'hosted',
        kind: 'openai',
        baseURL: `${hosted.url}/v1`,
        apiKey: 'k',
        modelMap: { [MODEL]: 'gpt-4o-mini' },
      },
    ],
    models: [{ name: MODEL, route: ['gpu', 'hosted'] }],
    scheduling: { scrapeIntervalMs: 20, staleAfterMs: 2_000 },
    retries: { maxAttempts: 2, initialDelayMs: 5, maxDelayMs: 20 },
  };
  const runtime = await createRouterRuntime(validateConfig(config, '(test)', {}), { processMetrics: false });
  const root = mkdtempSync(join(tmpdir(), 'switchyard-batch-adapter-'));
  const api = createBatchRouter({
    root,
    ...routerBatchAdapters(runtime),
    config: { pollIntervalMs: 10, ...batch },
    metricsRegistry: runtime.metrics.registry,
  });
  const app = express();
  app.use('/v1', api.router);
  app.get('/metrics', async (_request, response) => {
    response.type('text/plain').send(await runtime.metrics.registry.metrics());
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await api.close();
    await runtime.close();
    rmSync(root, { recursive: true, force: true });
  });
  return new OpenAI({
    baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    apiKey: 'unused',
    maxRetries: 0,
  });
}

async function submit(client: OpenAI, text: string, metadata?: Record<string, string>): Promise<string> {
  const file = await client.files.create({ file: await toFile(Buffer.from(text), 'in.jsonl'), purpose: 'batch' });
  const batch = await client.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
    ...(metadata ? { metadata } : {}),
  });
  return batch.id;
}

beforeAll(async () => {
  [gpu, hosted] = await Promise.all([
    startSimReplica({ model: MODEL, speed: 50 }),
    startSimReplica({
      model: 'gpt-4o-mini',
      profile: 'hosted',
      speed: 50,
      apiKey: 'k',
      hosted: { ttftMs: 20, msPerToken: 1 },
    }),
  ]);
});
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});
afterAll(async () => {
  await Promise.allSettled([gpu?.close(), hosted?.close()]);
});

describe('batch router on the router runtime', () => {
  it('runs on the self-hosted pool only, costed in GPU-seconds, with batch metrics', async () => {
    const client = await start(gpu.url, {});
    const hostedBefore = (await hosted.stats()).requestsFinished;
    const id = await submit(client, chatBatchLines(20, MODEL));
    const done = await waitFor(
      () => client.batches.retrieve(id),
      (batch) => FINAL.has(batch.status),
    );
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 20, completed: 20, failed: 0 });
    expect((await hosted.stats()).requestsFinished).toBe(hostedBefore);
    const accounting = (
      done as unknown as { switchyard: { gpu_seconds: number; cost_usd: number; hosted_requests: number } }
    ).switchyard;
    expect(accounting.gpu_seconds).toBeGreaterThan(0);
    expect(accounting.cost_usd).toBeGreaterThan(0);
    expect(accounting.hosted_requests).toBe(0);
    const metrics = await (await fetch(new URL('/metrics', client.baseURL))).text();
    expect(metrics).toMatch(/switchyard_batch_requests_total\{outcome="succeeded"\} 20/);
    expect(metrics).toMatch(/switchyard_batch_gpu_seconds_total\{model="llama-3\.1-8b"\} [0-9.e-]+/);
  });

  it('with the self-hosted pool down: waits, unless the batch allows hosted and its window is at risk', async () => {
    // Nothing listens on port 9: the vLLM backend's metrics go stale, so the pool has no room.
    const client = await start('http://127.0.0.1:9', { hostedSpill: { atRiskWithinMs: 25 * 3600 * 1000 } });
    const waiting = await submit(client, chatBatchLines(5, MODEL));
    const allowed = await submit(client, chatBatchLines(5, MODEL), { switchyard_allow_hosted: 'true' });
    const spilled = await waitFor(
      () => client.batches.retrieve(allowed),
      (batch) => FINAL.has(batch.status),
    );
    expect(spilled.status).toBe('completed');
    expect(spilled.request_counts).toEqual({ total: 5, completed: 5, failed: 0 });
    expect((spilled as unknown as { switchyard: { hosted_requests: number } }).switchyard.hosted_requests).toBe(5);
    const held = await client.batches.retrieve(waiting);
    expect(held.status).toBe('in_progress');
    expect(held.request_counts).toEqual({ total: 5, completed: 0, failed: 0 });
  });
});
