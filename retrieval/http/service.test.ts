import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../ingest.ts';
import { TransformersEmbedder } from '../models/embedder.ts';
import { RetrievalIndex } from '../retrieval-index.ts';
import { DOCS_FIXTURE, TINY_CROSS_ENCODER, TINY_EMBEDDER } from '../testing/models.ts';
import { createRetrievalService, type RetrievalService } from './service.ts';

let workspace = '';
let service: RetrievalService;

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), 'switchyard-service-'));
  cpSync(DOCS_FIXTURE, join(workspace, 'docs'), { recursive: true });
  const embedder = await TransformersEmbedder.load({ model: TINY_EMBEDDER, offline: true });
  const writer = await RetrievalIndex.open({
    directory: join(workspace, 'indexes', 'default'),
    create: true,
    writable: true,
    embedder,
  });
  await ingest({ path: join(workspace, 'docs'), index: writer });
  writer.close();
  mkdirSync(join(workspace, 'banks'));
  writeFileSync(
    join(workspace, 'banks', 'support.jsonl'),
    [
      { id: 1, input: 'How do I reset my password?', output: 'Use the reset link [1].' },
      { id: 2, input: 'Who won the match?', output: 'The sources do not say.', insufficient: true },
    ]
      .map((line) => JSON.stringify(line))
      .join('\n'),
  );
  service = await createRetrievalService({
    indexRoot: join(workspace, 'indexes'),
    embedder: TINY_EMBEDDER,
    reranker: TINY_CROSS_ENCODER,
    fewShotDir: join(workspace, 'banks'),
    offline: true,
  });
});

afterAll(async () => {
  await service.close();
  rmSync(workspace, { recursive: true, force: true });
});

describe('createRetrievalService', () => {
  it('serves the endpoints on a mounted router and prepares rag + few_shot chats', async () => {
    const app = express();
    app.use(service.router);
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/retrieve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'ERR_CONN_REFUSED_443' }),
      });
      const body = (await response.json()) as { data: { document_id: string }[]; effective_mode: string };
      expect(response.status).toBe(200);
      expect(body.effective_mode).toBe('rerank');
      expect(body.data[0]?.document_id).toBe('guides/troubleshooting.md');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const chat = {
      model: 'm',
      messages: [{ role: 'user', content: 'my password expired' }],
      rag: {},
      few_shot: { bank: 'support', k: 1 },
    };
    expect(service.hasExtensions(chat)).toBe(true);
    expect(service.hasExtensions({ model: 'm', messages: [] })).toBe(false);
    const prepared = await service.prepareChat(chat);
    expect(prepared.citations.length).toBeGreaterThan(0);
    expect(prepared.fewShot.map((example) => example.id)).toEqual(['2']);
    expect(prepared.body).not.toHaveProperty('rag');
    expect(prepared.body).not.toHaveProperty('few_shot');
    await expect(service.prepareChat({ ...chat, few_shot: { bank: 'nope' } })).rejects.toMatchObject({ status: 404 });
  });
});
