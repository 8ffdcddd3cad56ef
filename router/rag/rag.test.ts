// Retrieval through the router (`switchyard serve`'s app): a fixture corpus ingested with retrieval's programmatic API
// into a temp index root, the real router over the shared fake upstream (vLLM needs a GPU), the official `openai` SDK as
// the client. One fake echoes the last user message (so the conversation reaching it is visible in the answer) and
// keeps every body it received (so the injected system prompt is read from what the router really sent); the other
// answers a fixed text with citation markers, streamed three characters a chunk so markers span chunks.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../../retrieval/ingest.ts';
import { DEFAULT_EMBEDDING_MODEL, TransformersEmbedder } from '../../retrieval/models/embedder.ts';
import { RAG_INSTRUCTIONS } from '../../retrieval/http/rag.ts';
import { RetrievalIndex } from '../../retrieval/retrieval-index.ts';
import { DOCS_FIXTURE, TINY_CROSS_ENCODER, TINY_EMBEDDER } from '../../retrieval/testing/models.ts';
import {
  embeddedDefaultConfig,
  TINY_EMBEDDER_PATH,
  TINY_RERANKER_PATH,
  WORD_VECTOR_EMBEDDER,
} from '../config/default.ts';
import { WORD_VECTOR_MODEL } from '../../retrieval/models/word-vectors/embedder.ts';
import { validateConfig } from '../config/load.ts';
import type { RouterConfigInput } from '../config/schema.ts';
import {
  messageText,
  startFakeUpstream,
  type FakeRequestBody,
  type FakeUpstream,
} from '../../core/testing/fake-upstream.ts';
import { FAST_SCHEDULING, postRaw, startTestRouter, type TestRouter } from '../testing/harness.ts';
import type { CitationsPayload } from './chat.ts';
import { RETRIEVAL_DEFAULT_EMBEDDER } from './mount.ts';

const SCRIPTED = 'The TCP connection to port 443 was refused [1]. The moon is made of cheese [7].';
const EMBEDDING_DIMENSIONS = (
  JSON.parse(readFileSync(join(TINY_EMBEDDER, 'config.json'), 'utf8')) as { hidden_size: number }
).hidden_size;

/** Like the simulator's echo mode: the last user message is the answer. */
function echoLastUserMessage(body: FakeRequestBody): string {
  const users = (body.messages ?? []).filter((message) => message.role === 'user');
  return users.length > 0 ? messageText(users.at(-1)!) : '';
}

let workspace = '';
let echo: FakeUpstream;
let scripted: FakeUpstream;
let embedUpstream: FakeUpstream;
let harness: TestRouter;

function routerConfig(retrieval: RouterConfigInput['retrieval']): RouterConfigInput {
  const pool = (name: string, upstream: FakeUpstream): NonNullable<RouterConfigInput['pools']>[number] => ({
    name,
    kind: 'vllm',
    model: 'llama-3.1-8b',
    gpu: 'h100',
    servedModel: 'llama-3.1-8b',
    backends: [{ id: `${name}-0`, url: upstream.url }],
  });
  return {
    pools: [
      pool('echo', echo),
      pool('scripted', scripted),
      { name: 'embed', kind: 'vllm', model: 'llama-3.1-8b', gpu: 'h100', backends: [{ url: embedUpstream.url }] },
    ],
    models: [
      { name: 'llama-3.1-8b', route: ['echo'], escalate: false },
      { name: 'cited', route: ['scripted'], escalate: false },
      { name: 'remote-embedder', route: ['embed'] },
    ],
    scheduling: FAST_SCHEDULING,
    ...(retrieval === undefined ? {} : { retrieval }),
  };
}

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), 'switchyard-router-rag-'));
  cpSync(DOCS_FIXTURE, join(workspace, 'docs'), { recursive: true });
  const embedder = await TransformersEmbedder.load({ model: TINY_EMBEDDER, offline: true });
  const writer = await RetrievalIndex.open({
    directory: join(workspace, 'indexes', 'docs'),
    create: true,
    writable: true,
    embedder,
  });
  await ingest({ path: join(workspace, 'docs'), index: writer });
  writer.close();
  await embedder.dispose();
  mkdirSync(join(workspace, 'banks'));
  writeFileSync(
    join(workspace, 'banks', 'support.jsonl'),
    [
      { id: 'reset', input: 'How do I reset my password?', output: 'Use the reset link [1].' },
      { id: 'unknown', input: 'Who won the match?', output: 'The sources do not say.', insufficient: true },
    ]
      .map((line) => JSON.stringify(line))
      .join('\n'),
  );

  echo = await startFakeUpstream({ reply: echoLastUserMessage });
  scripted = await startFakeUpstream({ chunks: SCRIPTED.match(/.{1,3}/gs) ?? [] });
  embedUpstream = await startFakeUpstream({ model: 'remote-embedder' });
  harness = await startTestRouter(
    routerConfig({
      indexRoot: join(workspace, 'indexes'),
      embedder: TINY_EMBEDDER,
      reranker: TINY_CROSS_ENCODER,
      fewShotDir: join(workspace, 'banks'),
      embeddingModel: 'local-embedder',
      offline: true,
    }),
  );
}, 60_000);

afterAll(async () => {
  await harness?.close();
  await echo?.close();
  await scripted?.close();
  await embedUpstream?.close();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

interface RetrieveResponse {
  effective_mode: string;
  data: Array<{
    rank: number;
    document_id: string;
    chunk_id: string;
    text: string;
    scores: Record<string, { rank: number; score: number }>;
  }>;
  timings_ms: Record<string, number>;
}

type RagChat = OpenAI.Chat.ChatCompletion & { citations: CitationsPayload };

function lastUpstreamChat(): { messages: Array<{ role: string; content: string }>; body: Record<string, unknown> } {
  const body = echo.requests.at(-1);
  if (!body) throw new Error('no chat request reached the upstream');
  return { body, messages: body['messages'] as Array<{ role: string; content: string }> };
}

describe('retrieval endpoints through the router', () => {
  it('/v1/retrieve returns ranked chunks with the scores of every stage and timings', async () => {
    const result = await harness.client.post<RetrieveResponse>('/retrieve', {
      body: { query: 'ERR_CONN_REFUSED_443', index: 'docs', top_k: 3 },
    });
    expect(result.effective_mode).toBe('rerank');
    expect(result.data.length).toBeGreaterThan(0);
    expect(result.data.length).toBeLessThanOrEqual(3);
    expect(result.data[0]?.document_id).toBe('guides/troubleshooting.md');
    expect(result.data.map((hit) => hit.rank)).toEqual(result.data.map((_hit, index) => index + 1));
    // Per-stage rank and score; the top hit went through every stage (the exact identifier is a BM25 hit).
    for (const stage of ['lexical', 'vector', 'fused', 'rerank']) {
      expect(result.data[0]?.scores[stage]).toEqual({
        rank: expect.any(Number) as unknown,
        score: expect.any(Number) as unknown,
      });
    }
    expect(result.data[0]?.scores['rerank']?.rank).toBe(1);
    expect(Object.keys(result.timings_ms).length).toBeGreaterThan(0);

    const lexical = await harness.client.post<RetrieveResponse>('/retrieve', {
      body: { query: 'ERR_CONN_REFUSED_443', index: 'docs', mode: 'lexical' },
    });
    expect(lexical.effective_mode).toBe('lexical');
    expect(Object.keys(lexical.data[0]?.scores ?? {})).toEqual(['lexical']);
  });

  it('/v1/rerank orders documents by the cross-encoder', async () => {
    const documents = [
      'Bread needs an oven and flour.',
      'The TCP connection to port 443 was refused.',
      'Invoices are sent monthly.',
    ];
    const result = await harness.client.post<{
      results: Array<{ index: number; relevance_score: number; document?: { text: string } }>;
    }>('/rerank', { body: { query: 'connection refused on port 443', documents } });
    expect(result.results.map((entry) => entry.index).sort()).toEqual([0, 1, 2]);
    const scores = result.results.map((entry) => entry.relevance_score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    for (const entry of result.results) expect(entry.document?.text).toBe(documents[entry.index]);
  });

  it('/v1/embeddings serves the local model (normalised vectors of its dimension) and forwards other models', async () => {
    for (const model of ['local-embedder', 'tiny-bert-embedder']) {
      const { data, response } = await harness.client.embeddings
        .create({ model, input: ['login flow', 'authentication'], encoding_format: 'float' })
        .withResponse();
      expect(response.status).toBe(200);
      expect(data.data).toHaveLength(2);
      for (const item of data.data) {
        expect(item.embedding).toHaveLength(EMBEDDING_DIMENSIONS);
        expect(Math.hypot(...item.embedding)).toBeCloseTo(1, 4);
      }
    }
    // The SDK's default base64 encoding decodes to the same vectors.
    const [float, base64] = await Promise.all([
      harness.client.embeddings.create({ model: 'local-embedder', input: 'login flow', encoding_format: 'float' }),
      harness.client.embeddings.create({ model: 'local-embedder', input: 'login flow' }),
    ]);
    expect(base64.data[0]?.embedding).toHaveLength(EMBEDDING_DIMENSIONS);
    base64.data[0]?.embedding.forEach((value, index) =>
      expect(value).toBeCloseTo(float.data[0]?.embedding[index] ?? NaN, 5),
    );

    const { data, response } = await harness.client.embeddings
      .create({ model: 'remote-embedder', input: ['abc'], encoding_format: 'float' })
      .withResponse();
    expect(data.data[0]?.embedding[0]).toBe(3);
    expect(response.headers.get('x-switchyard-backend')).toBe('embed-0');
  });

  it('GET /v1/models lists the local embedding model beside the routed models', async () => {
    const models = [];
    for await (const model of harness.client.models.list()) models.push(model);
    const local = models.find((model) => model.id === 'local-embedder');
    expect(local).toMatchObject({ object: 'model', owned_by: 'switchyard-local' });
    expect(models.some((model) => model.id === 'remote-embedder')).toBe(true);
    expect(new Set(models.map((model) => model.id)).size).toBe(models.length);
  });
});

describe('RAG chat through the router', () => {
  it('injects the sources into the system prompt (before the caller prompt and the instructions) and returns citations', async () => {
    const question = 'Why do I get ERR_CONN_REFUSED_443?';
    const body = {
      model: 'llama-3.1-8b',
      messages: [
        { role: 'system' as const, content: 'You are the support bot.' },
        { role: 'user' as const, content: question },
      ],
      rag: { index: 'docs', top_k: 2 },
    };
    const completion = (await harness.client.chat.completions.create(
      body as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming,
    )) as RagChat;
    // The echo upstream answered with the caller's question, so the conversation reached it unchanged.
    expect(completion.choices[0]?.message.content).toBe(question);

    const upstream = lastUpstreamChat();
    expect(upstream.body).not.toHaveProperty('rag');
    expect(upstream.messages.map((message) => message.role)).toEqual(['system', 'user']);
    const system = upstream.messages[0]?.content ?? '';
    expect(system.startsWith('Sources:')).toBe(true);
    expect(system).toContain('[1]');
    expect(system).toContain('ERR_CONN_REFUSED_443 means the TCP connection to port 443 was refused');
    expect(system.indexOf('Sources:')).toBeLessThan(system.indexOf('You are the support bot.'));
    expect(system.indexOf('You are the support bot.')).toBeLessThan(system.indexOf(RAG_INSTRUCTIONS));
    expect(system.endsWith(RAG_INSTRUCTIONS)).toBe(true);

    expect(completion.citations.index).toBe('docs');
    expect(completion.citations.sources.length).toBeGreaterThan(0);
    expect(completion.citations.sources.length).toBeLessThanOrEqual(2);
    expect(completion.citations.sources).toContainEqual(
      expect.objectContaining({ marker: '[1]', document_id: 'guides/troubleshooting.md' }),
    );
    // Every source in the answer's citations is one that was put into the prompt.
    for (const source of completion.citations.sources as Array<{ marker: string }>)
      expect(system).toContain(source.marker);
  });

  it("checks the answer's citation markers against the sources (non-stream)", async () => {
    const body = {
      model: 'cited',
      messages: [{ role: 'user' as const, content: 'ERR_CONN_REFUSED_443' }],
      rag: { index: 'docs', top_k: 1 },
    };
    const completion = (await harness.client.chat.completions.create(
      body as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming,
    )) as RagChat;
    expect(completion.choices[0]?.message.content).toBe(SCRIPTED);
    expect(completion.citations.sources).toHaveLength(1);
    const checks = completion.citations.checks as Array<{ marker: string; status: string }>;
    expect(checks.map((check) => [check.marker, check.status])).toEqual([
      ['[1]', 'ok'],
      ['[7]', 'unknown_source'],
    ]);
    expect(completion.citations.valid).toBe(false);
  });

  it('streams the answer and ends with one citations chunk before [DONE]', async () => {
    const body = {
      model: 'cited',
      stream: true as const,
      stream_options: { include_usage: true },
      messages: [{ role: 'user' as const, content: 'ERR_CONN_REFUSED_443' }],
      rag: { index: 'docs', top_k: 1 },
    };
    const stream = await harness.client.chat.completions.create(
      body as OpenAI.Chat.ChatCompletionCreateParamsStreaming,
    );
    const chunks: Array<ChatCompletionChunk & { citations?: CitationsPayload }> = [];
    for await (const chunk of stream) chunks.push(chunk);
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(SCRIPTED);
    const withCitations = chunks.filter((chunk) => chunk.citations !== undefined);
    expect(withCitations).toHaveLength(1);
    const last = chunks.at(-1);
    expect(last).toBe(withCitations[0]);
    expect(last?.choices).toEqual([]);
    expect(last?.id).toBe(chunks[0]?.id);
    expect(last?.citations?.sources).toHaveLength(1);
    expect((last?.citations?.checks as Array<{ status: string }>).map((check) => check.status)).toEqual([
      'ok',
      'unknown_source',
    ]);
    // The usage chunk the client asked for still comes, before the citations.
    expect(chunks.at(-2)?.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('few_shot puts the closest examples (with the insufficient-information one) before the conversation', async () => {
    const body = {
      model: 'llama-3.1-8b',
      messages: [{ role: 'user' as const, content: 'I forgot my password' }],
      few_shot: { bank: 'support', k: 1 },
    };
    const completion = (await harness.client.chat.completions.create(
      body as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming,
    )) as RagChat;
    expect(completion.choices[0]?.message.content).toBe('I forgot my password');
    const upstream = lastUpstreamChat();
    expect(upstream.body).not.toHaveProperty('few_shot');
    expect(upstream.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'user']);
    expect(upstream.messages[0]?.content).toBe('Who won the match?');
    expect(completion.citations.few_shot).toEqual(['unknown']);
    expect(completion.citations.sources).toEqual([]);
  });

  it('unknown index or bank → 404 error JSON; bad extension shapes → 400 naming the parameter', async () => {
    const chat = (extra: Record<string, unknown>) =>
      harness.client.chat.completions.create({
        model: 'llama-3.1-8b',
        messages: [{ role: 'user', content: 'hello' }],
        ...extra,
      } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
    const sent = echo.requests.length;

    const missing = await chat({ rag: { index: 'nope' } }).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing).toMatchObject({ status: 404, code: 'index_not_found', param: 'index' });
    await expect(harness.client.post('/retrieve', { body: { query: 'x', index: 'nope' } })).rejects.toMatchObject({
      status: 404,
      code: 'index_not_found',
    });
    await expect(chat({ few_shot: { bank: 'nope' } })).rejects.toMatchObject({ status: 404, code: 'bank_not_found' });

    const raw = await postRaw(
      `${harness.baseURL}/chat/completions`,
      JSON.stringify({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'x' }], rag: { index: 'nope' } }),
    );
    expect(raw.status).toBe(404);
    expect(JSON.parse(raw.text)).toEqual({
      error: {
        message: expect.stringContaining('nope') as unknown,
        type: expect.any(String) as unknown,
        param: 'index',
        code: 'index_not_found',
      },
    });

    const badTopK = await chat({ rag: { index: 'docs', top_k: 'three' } }).catch((error: unknown) => error);
    expect(badTopK).toBeInstanceOf(OpenAI.BadRequestError);
    expect(badTopK).toMatchObject({ status: 400, param: 'rag.top_k' });
    await expect(chat({ rag: 'docs' })).rejects.toMatchObject({ status: 400, param: 'rag' });
    await expect(chat({ rag: { index: 'docs', filters: { tags: { nope: 1 } } } })).rejects.toBeInstanceOf(
      OpenAI.BadRequestError,
    );
    await expect(chat({ few_shot: { k: 2 } })).rejects.toMatchObject({ status: 400, param: 'few_shot.bank' });
    await expect(
      harness.client.completions.create({
        model: 'llama-3.1-8b',
        prompt: 'x',
        rag: { index: 'docs' },
      } as OpenAI.CompletionCreateParamsNonStreaming),
    ).rejects.toMatchObject({
      status: 400,
      param: 'rag',
    });
    expect(echo.requests.length).toBe(sent);
  });
});

describe('retrieval config', () => {
  it('a router without a retrieval section loads nothing and says so clearly', async () => {
    const plain = await startTestRouter(routerConfig(undefined));
    try {
      await expect(
        plain.client.chat.completions.create({
          model: 'llama-3.1-8b',
          messages: [{ role: 'user', content: 'x' }],
          rag: { index: 'docs' },
        } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming),
      ).rejects.toMatchObject({ status: 400, code: 'retrieval_disabled' });
      await expect(plain.client.post('/retrieve', { body: { query: 'x' } })).rejects.toMatchObject({
        status: 404,
        code: 'retrieval_disabled',
      });
      // /v1/embeddings keeps proxying every model.
      await expect(plain.client.embeddings.create({ model: 'tiny-bert-embedder', input: 'x' })).rejects.toBeInstanceOf(
        OpenAI.NotFoundError,
      );
    } finally {
      await plain.close();
    }
  });

  it('starts without loading models; a model missing offline gives a clear 503 while retrieval still answers', async () => {
    const degraded = await startTestRouter(
      routerConfig({
        indexRoot: join(workspace, 'indexes'),
        embedder: join(workspace, 'missing-model'),
        reranker: null,
        offline: true,
        preload: false,
      }),
    );
    try {
      const embeddings = await degraded.client.embeddings
        .create({ model: 'missing-model', input: 'x', encoding_format: 'float' })
        .catch((error: unknown) => error);
      expect(embeddings).toBeInstanceOf(OpenAI.InternalServerError);
      expect(embeddings).toMatchObject({ status: 503, code: 'model_unavailable' });
      expect((embeddings as Error).message).toContain('missing-model');
      // No reranker configured is the server's set-up, not an outage: 404 like any model it does not serve.
      await expect(degraded.client.post('/rerank', { body: { query: 'q', documents: ['a'] } })).rejects.toMatchObject({
        status: 404,
        code: 'model_not_found',
      });
      // The index names its own embedder (the tiny model), so hybrid retrieval works; without a reranker, no rerank.
      const result = await degraded.client.post<RetrieveResponse>('/retrieve', {
        body: { query: 'ERR_CONN_REFUSED_443', index: 'docs', rerank: false },
      });
      expect(result.effective_mode).toBe('hybrid');
      expect(result.data[0]?.document_id).toBe('guides/troubleshooting.md');
    } finally {
      await degraded.close();
    }
  });

  it('the embedded default enables retrieval offline on real word vectors, with no random-weight reranker', () => {
    const config = validateConfig(embeddedDefaultConfig({}), 'default', {});
    expect(config.retrieval).toMatchObject({
      enabled: true,
      offline: true,
      embedder: WORD_VECTOR_EMBEDDER,
      reranker: null,
    });
    expect(WORD_VECTOR_EMBEDDER).toBe(WORD_VECTOR_MODEL);
    expect(config.retrieval?.indexRoot).toBe('.switchyard/indexes');
    expect(
      validateConfig(embeddedDefaultConfig({}), 'default', { SWITCHYARD_INDEX_DIR: '/srv/idx' }).retrieval?.indexRoot,
    ).toBe('/srv/idx');
    expect(readFileSync(join(TINY_EMBEDDER_PATH, 'config.json'), 'utf8')).toContain('hidden_size');
    expect(readFileSync(join(TINY_RERANKER_PATH, 'config.json'), 'utf8')).toContain('hidden_size');
    expect(RETRIEVAL_DEFAULT_EMBEDDER).toBe(DEFAULT_EMBEDDING_MODEL);
    expect(() =>
      validateConfig({ ...embeddedDefaultConfig({}), retrieval: { enabled: true, topK: 3 } }, 'x', {}),
    ).toThrow(/retrieval/);
  });
});
