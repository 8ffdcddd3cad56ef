// The retrieval endpoints on their own Express app over real HTTP, with the openai SDK as a client where the API is
// OpenAI's, and the rag/few_shot chat extension through a stand-in chat endpoint.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express, { type Request, type Response } from 'express';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FewShotBank } from '../few-shot/bank.ts';
import { ingest } from '../ingest.ts';
import { RetrievalIndex } from '../retrieval-index.ts';
import { DOCS_FIXTURE, tinyModels } from '../testing/models.ts';
import { IndexRegistry } from './index-registry.ts';
import { applyRetrievalExtensions, citationsPayload, RAG_INSTRUCTIONS, type ChatMessageLike } from './rag.ts';
import { createRetrievalRouter } from './router.ts';
import { NotFoundError } from '../errors.ts';

let workspace = '';
let server: Server;
let baseUrl = '';
let registry: IndexRegistry;

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), 'switchyard-http-'));
  const { embedder, reranker } = await tinyModels();
  const docs = join(workspace, 'docs');
  cpSync(DOCS_FIXTURE, docs, { recursive: true });
  const writer = await RetrievalIndex.open({
    directory: join(workspace, 'indexes', 'docs'),
    create: true,
    writable: true,
    embedder,
  });
  await ingest({ path: docs, index: writer });
  writer.close();

  registry = new IndexRegistry({
    root: join(workspace, 'indexes'),
    embedderFor: async (model) =>
      model === embedder.modelId ? { embedder, error: null } : { embedder: null, error: `unknown model ${model}` },
    reranker,
  });
  const bank = await FewShotBank.build(
    'support',
    [
      { id: 'a', input: 'How do I reset my password?', output: 'Use the reset link [1].', insufficient: false },
      { id: 'b', input: 'How long do I bake bread?', output: 'Forty minutes [1].', insufficient: false },
      { id: 'c', input: 'What is the CEO’s favourite colour?', output: 'The sources do not say.', insufficient: true },
    ],
    embedder,
  );
  const fewShotBanks = {
    get: async (name: string) => {
      if (name !== 'support')
        throw new NotFoundError(`Few-shot bank "${name}" does not exist.`, { code: 'bank_not_found' });
      return bank;
    },
  };
  const app = express();
  app.use(express.json());
  app.use(
    createRetrievalRouter({
      indexes: registry,
      embedder,
      reranker,
      fewShotBanks,
      embeddingModelNames: ['local-embedder'],
    }),
  );
  // Stand-in for the router's chat endpoint: applies the extensions and answers with a fixed cited sentence.
  app.post('/v1/chat/completions', async (request: Request, response: Response) => {
    try {
      const prepared = await applyRetrievalExtensions(request.body, {
        indexes: registry,
        fewShotBanks,
        contextWindow: () => 4096,
      });
      const answer = 'The TCP connection to port 443 was refused [1]. Bread needs an oven [2].';
      response.json({
        id: 'chatcmpl-test',
        object: 'chat.completion',
        created: 0,
        model: 'test',
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: answer } }],
        prepared_messages: prepared.messages,
        citations: citationsPayload(answer, prepared.citations),
      });
    } catch (error) {
      const { renderError } = await import('../../core/errors.ts');
      const rendered = renderError(error);
      response.status(rendered.status).json(rendered.body);
    }
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  registry.close();
  rmSync(workspace, { recursive: true, force: true });
});

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

describe('POST /v1/retrieve', () => {
  it('returns chunks with document ids, scores per stage and timings', async () => {
    const { status, json } = await post('/v1/retrieve', { query: 'ERR_CONN_REFUSED_443', index: 'docs', top_k: 3 });
    expect(status).toBe(200);
    expect(json['effective_mode']).toBe('rerank');
    const data = json['data'] as {
      document_id: string;
      chunk_id: string;
      scores: Record<string, unknown>;
      metadata: Record<string, unknown>;
    }[];
    expect(data).toHaveLength(3);
    expect(data[0]?.document_id).toBe('guides/troubleshooting.md');
    expect(Object.keys(data[0]?.scores ?? {}).sort()).toEqual(['fused', 'lexical', 'rerank', 'vector']);
    expect(data[0]?.metadata['team']).toBe('platform');
    expect((json['timings_ms'] as Record<string, number>)['totalMs']).toBeGreaterThan(0);
  });

  it('honours rerank off, modes and filters', async () => {
    const { json } = await post('/v1/retrieve', {
      query: 'bake',
      index: 'docs',
      rerank: false,
      filters: { cuisine: { in: ['english'] } },
    });
    expect(json['effective_mode']).toBe('hybrid');
    expect((json['data'] as { document_id: string }[]).map((hit) => hit.document_id)).toEqual(['recipe-cake']);
  });

  it.each([
    [{}, 400, 'query', 'missing_required_parameter'],
    [{ query: '   ' }, 400, 'query', 'invalid_value'],
    [{ query: 'x', top_k: 0 }, 400, 'top_k', 'invalid_value'],
    [{ query: 'x', top_k: 'five' }, 400, 'top_k', 'invalid_value'],
    [{ query: 'x', mode: 'psychic' }, 400, 'mode', 'invalid_value'],
    [{ query: 'x', filters: { team: { between: [1, 2] } } }, 400, 'filters.team', 'invalid_value'],
    [
      { query: 'x', index: 'docs', filters: { last_modified: { gte: 'yesterday-ish' } } },
      400,
      'filters.last_modified',
      null,
    ],
    [{ query: 'x', mode: 'lexical', rerank: true }, 400, 'rerank', null],
    [{ query: 'x', index: '../etc' }, 400, 'index', null],
    [{ query: 'x', index: 'missing' }, 404, 'index', 'index_not_found'],
    [[1, 2], 400, null, 'invalid_body'],
  ])('rejects %j with %i OpenAI error JSON', async (body, status, param, code) => {
    const result = await post('/v1/retrieve', body);
    expect(result.status).toBe(status);
    const error = (result.json as unknown as ErrorBody).error;
    expect(error.type).toBe('invalid_request_error');
    expect(error.param).toBe(param);
    if (code !== null) expect(error.code).toBe(code);
    expect(error.message.length).toBeGreaterThan(5);
  });

  it('without a configured reranker, hybrid is the default and effective_mode says what ran', async () => {
    const { embedder } = await tinyModels();
    const plain = new IndexRegistry({
      root: join(workspace, 'indexes'),
      embedderFor: async (model) =>
        model === embedder.modelId ? { embedder, error: null } : { embedder: null, error: `unknown model ${model}` },
      reranker: null,
    });
    const app = express();
    app.use(createRetrievalRouter({ indexes: plain, embedder, reranker: null }));
    const local = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => local.once('listening', resolve));
    const retrieve = async (body: object) => {
      const response = await fetch(`http://127.0.0.1:${(local.address() as AddressInfo).port}/v1/retrieve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'ERR_CONN_REFUSED_443', index: 'docs', ...body }),
      });
      return (await response.json()) as { mode: string; effective_mode: string; warnings: string[] };
    };
    try {
      expect(await retrieve({})).toMatchObject({ mode: 'hybrid', effective_mode: 'hybrid', warnings: [] });
      const asked = await retrieve({ rerank: true });
      expect(asked).toMatchObject({ mode: 'rerank', effective_mode: 'hybrid' });
      expect(asked.warnings.join(' ')).toMatch(/Reranker unavailable \(no reranker configured\)/);
      expect(await retrieve({ mode: 'lexical-prf' })).toMatchObject({ effective_mode: 'lexical-prf', warnings: [] });
    } finally {
      await new Promise((resolve) => local.close(resolve));
      plain.close();
    }
  });

  it('rejects malformed JSON with OpenAI error JSON, and can leave /v1/embeddings to the app', async () => {
    const app = express();
    app.use(createRetrievalRouter({ indexes: registry, embedder: null, reranker: null, serveEmbeddings: false }));
    app.post('/v1/embeddings', (_request: Request, response: Response) => {
      response.json({ served_by: 'the app' });
    });
    const local = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => local.once('listening', resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(local.address() as AddressInfo).port}/v1/retrieve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"query": ',
      });
      expect(response.status).toBe(400);
      const body = (await response.json()) as ErrorBody;
      expect(body.error.code).toBe('invalid_json');
      const embeddings = await fetch(`http://127.0.0.1:${(local.address() as AddressInfo).port}/v1/embeddings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(await embeddings.json()).toEqual({ served_by: 'the app' });
    } finally {
      await new Promise((resolve) => local.close(resolve));
    }
  });
});

describe('POST /v1/rerank', () => {
  it('answers Cohere/Jina-style, sorted by relevance with original indices', async () => {
    const { status, json } = await post('/v1/rerank', {
      query: 'how do I sign in with my password',
      documents: [
        'Bake the bread in the oven.',
        { text: 'Users authenticate with a password and OAuth tokens.' },
        'Rain and storms.',
      ],
      top_n: 2,
    });
    expect(status).toBe(200);
    const results = json['results'] as { index: number; relevance_score: number; document?: { text: string } }[];
    expect(results).toHaveLength(2);
    expect(results[0]?.index).toBe(1);
    expect(results[0]?.document?.text).toContain('OAuth');
    expect(results[0]?.relevance_score).toBeGreaterThan(results[1]?.relevance_score ?? 1);
    expect(results[0]?.relevance_score).toBeLessThanOrEqual(1);
    expect((json['usage'] as { total_tokens: number }).total_tokens).toBeGreaterThan(0);
  });

  it.each([
    [{ query: 'x' }, 'documents', 'missing_required_parameter'],
    [{ query: 'x', documents: [] }, 'documents', 'invalid_value'],
    [{ query: '', documents: ['a'] }, 'query', 'invalid_value'],
    [{ query: 'x', documents: [{ content: 'a' }] }, 'documents[0]', 'invalid_value'],
    [{ query: 'x', documents: ['a'], top_n: -1 }, 'top_n', 'invalid_value'],
    [{ query: 'x', documents: ['a'], model: 'cohere-rerank-v3' }, 'model', 'model_not_found'],
  ])('rejects %j', async (body, param, code) => {
    const result = await post('/v1/rerank', body);
    expect(result.status).toBe(code === 'model_not_found' ? 404 : 400);
    expect((result.json as unknown as ErrorBody).error).toMatchObject({ param, code });
  });
});

describe('POST /v1/embeddings (openai SDK)', () => {
  const client = (): OpenAI => new OpenAI({ apiKey: 'unused', baseURL: `${baseUrl}/v1`, maxRetries: 0 });

  it('returns normalised vectors in order, as float and base64 (the SDK default)', async () => {
    const { embedder } = await tinyModels();
    const viaBase64 = await client().embeddings.create({ model: 'local-embedder', input: ['login flow', 'bread'] });
    const viaFloat = await client().embeddings.create({
      model: 'tiny-bert-embedder',
      input: 'login flow',
      encoding_format: 'float',
    });
    expect(viaBase64.data).toHaveLength(2);
    expect(viaBase64.data[1]?.index).toBe(1);
    const [expected] = await embedder.embed(['login flow'], 'document');
    expect(viaBase64.data[0]?.embedding).toHaveLength(embedder.dimensions);
    viaBase64.data[0]?.embedding.forEach((value, i) =>
      expect(value).toBeCloseTo((expected as Float32Array)[i] as number, 5),
    );
    expect(viaFloat.data[0]?.embedding).toEqual(viaBase64.data[0]?.embedding);
    expect(viaBase64.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it('truncates to the requested dimensions and renormalises', async () => {
    const result = await client().embeddings.create({
      model: 'local-embedder',
      input: 'login flow',
      dimensions: 8,
      encoding_format: 'float',
    });
    const vector = result.data[0]?.embedding ?? [];
    expect(vector).toHaveLength(8);
    expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
  });

  it('maps bad input to OpenAI errors the SDK understands', async () => {
    await expect(client().embeddings.create({ model: 'gpt-nope', input: 'x' })).rejects.toMatchObject({
      status: 404,
      code: 'model_not_found',
    });
    await expect(client().embeddings.create({ model: 'local-embedder', input: [[1, 2, 3]] })).rejects.toMatchObject({
      status: 400,
      code: 'unsupported_input',
    });
    await expect(client().embeddings.create({ model: 'local-embedder', input: '' })).rejects.toMatchObject({
      status: 400,
      param: 'input',
    });
    await expect(
      client().embeddings.create({ model: 'local-embedder', input: 'x', dimensions: 4096 }),
    ).rejects.toMatchObject({
      status: 400,
      param: 'dimensions',
    });
  });
});

describe('rag and few_shot chat extensions', () => {
  it('injects the context before the safety instructions and returns checked citations', async () => {
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${baseUrl}/v1`, maxRetries: 0 });
    const completion = (await client.chat.completions.create({
      model: 'any',
      messages: [
        { role: 'system', content: 'You are the support assistant.' },
        { role: 'user', content: 'Why is ERR_CONN_REFUSED_443 happening?' },
      ],
      // @ts-expect-error: Switchyard extensions to the chat request
      rag: { index: 'docs', top_k: 3 },
      few_shot: { bank: 'support', k: 2 },
    })) as unknown as {
      prepared_messages: ChatMessageLike[];
      citations: ReturnType<typeof citationsPayload>;
    };
    const [system, ...rest] = completion.prepared_messages;
    const systemText = system?.content as string;
    expect(system?.role).toBe('system');
    const sourcesAt = systemText.indexOf('[1] ');
    const callerAt = systemText.indexOf('You are the support assistant.');
    const safetyAt = systemText.indexOf(RAG_INSTRUCTIONS);
    expect(sourcesAt).toBeGreaterThanOrEqual(0);
    expect(sourcesAt).toBeLessThan(callerAt);
    expect(callerAt).toBeLessThan(safetyAt);
    expect(systemText).toContain('ERR_CONN_REFUSED_443');
    // two few-shot turns (one is the insufficient-information example), then the user's question
    expect(rest.map((message) => message.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user']);
    expect(rest.some((message) => message.content === 'The sources do not say.')).toBe(true);
    expect(completion.citations.sources[0]).toMatchObject({ marker: '[1]', document_id: 'guides/troubleshooting.md' });
    expect(completion.citations.checks.map((check) => check.status)).toEqual([
      'ok',
      completion.citations.sources.length >= 2 ? 'unsupported' : 'unknown_source',
    ]);
    expect(completion.citations.valid).toBe(false);
  });

  it('fits the context into the budget left by the prompt and expected output', async () => {
    const messages = [{ role: 'user', content: 'Tell me about sessions and tokens' }];
    const roomy = await applyRetrievalExtensions(
      { messages, rag: { index: 'docs', top_k: 5, mode: 'hybrid' } },
      { indexes: registry, contextWindow: () => 8192 },
    );
    const tight = await applyRetrievalExtensions(
      { messages, max_tokens: 8192 - 200, rag: { index: 'docs', top_k: 5, mode: 'hybrid' } },
      { indexes: registry, contextWindow: () => 8192 },
    );
    expect(roomy.citations.length).toBe(5);
    expect(tight.retrieval?.budgetTokens).toBeLessThan(200);
    expect(tight.retrieval?.contextTokens).toBeLessThanOrEqual(tight.retrieval?.budgetTokens ?? 0);
    expect(tight.citations.length).toBeLessThan(roomy.citations.length);
  });

  it('rejects a bad extension or unknown index/bank with OpenAI errors', async () => {
    const cases: [unknown, number, string][] = [
      [{ model: 'm', messages: [{ role: 'user', content: 'q' }], rag: { index: 'docs', top_k: 0 } }, 400, 'rag.top_k'],
      [{ model: 'm', messages: [{ role: 'user', content: 'q' }], rag: { index: 'nope' } }, 404, 'index'],
      [{ model: 'm', messages: [{ role: 'user', content: 'q' }], few_shot: { bank: 'nope' } }, 404, 'bank_not_found'],
      [{ model: 'm', messages: [{ role: 'assistant', content: 'hi' }], rag: { index: 'docs' } }, 400, 'messages'],
    ];
    for (const [body, status, where] of cases) {
      const result = await post('/v1/chat/completions', body);
      expect(result.status, JSON.stringify(body)).toBe(status);
      const error = (result.json as unknown as ErrorBody).error;
      expect([error.param, error.code]).toContain(where);
    }
  });
});
