// Express Router with the retrieval endpoints, mounted by the router app (or any Express app):
//   POST /v1/retrieve     query an index: chunks, scores per stage, timings
//   POST /v1/rerank       Cohere/Jina-style cross-encoder reranking
//   POST /v1/embeddings   OpenAI-compatible embeddings from the local model
// Errors (validation, unknown index/model, unavailable model) are rendered here as OpenAI error JSON.
import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Embedder, Reranker } from '../contracts.ts';
import { InvalidRequestError, ModelUnavailableError, NotFoundError } from '../errors.ts';
import { normalise } from '../indexes/vector-math.ts';
import { renderError } from '../../core/errors.ts';
import { getTokenizer } from '../tokens.ts';
import type { IndexProvider } from './index-registry.ts';
import type { FewShotProvider } from './rag.ts';
import { EmbeddingsRequestSchema, RerankRequestSchema, RetrieveRequestSchema } from './schemas.ts';
import { parseBody } from './validation.ts';

export interface RetrievalRouterDeps {
  indexes: IndexProvider;
  embedder: Embedder | null;
  embedderError?: string;
  /** Extra names clients may use as `model` for embeddings (the model id and its basename always work). */
  embeddingModelNames?: readonly string[];
  reranker: Reranker | null;
  rerankerError?: string;
  fewShotBanks?: FewShotProvider;
  bodyLimit?: string;
  /** false: leave /v1/embeddings to the app (e.g. the router proxies it to a backend pool). Default true. */
  serveEmbeddings?: boolean;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export function createRetrievalRouter(deps: RetrievalRouterDeps): Router {
  const router = express.Router();
  // A no-op when the parent app already parsed the body.
  router.use(express.json({ limit: deps.bodyLimit ?? '4mb', type: () => true }));

  router.post('/v1/retrieve', async (request: Request, response: Response) => {
    const body = parseBody(RetrieveRequestSchema, request.body);
    if (body.rerank === true && (body.mode === 'lexical' || body.mode === 'vector')) {
      throw new InvalidRequestError(`rerank applies to hybrid retrieval; mode is '${body.mode}'.`, { param: 'rerank' });
    }
    // Hybrid reranks by default only when a cross-encoder is configured; asking for it without one reports
    // effective_mode hybrid with a warning.
    const rerankByDefault = deps.reranker !== null;
    const mode =
      body.mode === 'hybrid' && (body.rerank === true || (body.rerank === undefined && rerankByDefault))
        ? 'rerank'
        : body.mode === 'rerank' && body.rerank === false
          ? 'hybrid'
          : body.mode;
    const index = await deps.indexes.get(body.index);
    const result = await index.search({
      query: body.query,
      mode,
      topK: body.top_k,
      candidates: body.candidates,
      rerankCandidates: body.rerank_candidates,
      ...(body.rrf_k === undefined ? {} : { rrfK: body.rrf_k }),
      ...(body.weights === undefined ? {} : { weights: body.weights }),
      ...(body.filters === undefined ? {} : { filters: body.filters }),
    });
    response.json({
      object: 'list',
      index: body.index,
      query: body.query,
      mode: result.mode,
      effective_mode: result.effectiveMode,
      data: result.hits.map((hit, i) => ({
        object: 'retrieval.chunk',
        rank: i + 1,
        document_id: hit.documentId,
        chunk_id: hit.chunkId,
        text: hit.text,
        score: hit.score,
        scores: hit.scores,
        metadata: {
          title: hit.metadata.title,
          heading_path: hit.metadata.headingPath,
          source: hit.metadata.sourceUrl ?? hit.metadata.sourcePath,
          last_modified: new Date(hit.metadata.lastModified).toISOString(),
          position: hit.metadata.position,
          token_count: hit.metadata.tokenCount,
          ...hit.metadata.extra,
        },
      })),
      timings_ms: result.timings,
      warnings: result.warnings,
    });
  });

  router.post('/v1/rerank', async (request: Request, response: Response) => {
    const body = parseBody(RerankRequestSchema, request.body);
    const reranker = deps.reranker;
    if (reranker === null) {
      // Not configured is the server's set-up, not a passing outage: 404, as for any model the server does not serve.
      if (deps.rerankerError === undefined || deps.rerankerError === 'no reranker configured') {
        throw new NotFoundError(
          'No reranker is configured on this server (set `retrieval.reranker` to a cross-encoder model).',
          {
            code: 'model_not_found',
            param: 'model',
          },
        );
      }
      throw new ModelUnavailableError(`No reranker is loaded (${deps.rerankerError}).`);
    }
    if (body.model !== undefined && !matchesModel(body.model, reranker.modelId, [])) {
      throw new NotFoundError(
        `The model '${body.model}' does not exist; this server reranks with '${reranker.modelId}'.`,
        {
          param: 'model',
          code: 'model_not_found',
        },
      );
    }
    const texts = body.documents.map((document) => (typeof document === 'string' ? document : document.text));
    const logits = await reranker.score(body.query, texts);
    const ranked = logits
      .map((logit, index) => ({ index, relevance_score: sigmoid(logit) }))
      .sort((a, b) => b.relevance_score - a.relevance_score || a.index - b.index)
      .slice(0, body.top_n ?? texts.length);
    const tokenizer = getTokenizer();
    const totalTokens = texts.reduce(
      (sum, text) => sum + tokenizer.count(text),
      tokenizer.count(body.query) * texts.length,
    );
    response.json({
      id: `rerank-${randomUUID()}`,
      model: reranker.modelId,
      results: ranked.map((result) => ({
        ...result,
        ...(body.return_documents ? { document: { text: texts[result.index] } } : {}),
      })),
      usage: { total_tokens: totalTokens },
      meta: { billed_units: { search_units: 1 } },
    });
  });

  if (deps.serveEmbeddings !== false)
    router.post('/v1/embeddings', async (request: Request, response: Response) => {
      const body = parseBody(EmbeddingsRequestSchema, request.body);
      const embedder = deps.embedder;
      if (embedder === null) {
        throw new ModelUnavailableError(`No embedding model is loaded (${deps.embedderError ?? 'none configured'}).`);
      }
      if (!matchesModel(body.model, embedder.modelId, deps.embeddingModelNames ?? [])) {
        throw new NotFoundError(
          `The model '${body.model}' does not exist; this server embeds with '${embedder.modelId}'.`,
          {
            param: 'model',
            code: 'model_not_found',
          },
        );
      }
      const inputs = typeof body.input === 'string' ? [body.input] : body.input;
      if (!inputs.every((item): item is string => typeof item === 'string')) {
        throw new InvalidRequestError('Token-id inputs are not supported by the local embedder; send text.', {
          param: 'input',
          code: 'unsupported_input',
        });
      }
      if (body.dimensions !== undefined && body.dimensions > embedder.dimensions) {
        throw new InvalidRequestError(`dimensions must be at most ${embedder.dimensions} for this model.`, {
          param: 'dimensions',
        });
      }
      const vectors = await embedder.embed(inputs, 'document');
      const tokenizer = getTokenizer();
      const promptTokens = inputs.reduce((sum, text) => sum + tokenizer.count(text), 0);
      response.json({
        object: 'list',
        model: body.model,
        data: vectors.map((vector, index) => {
          // Matryoshka: truncate, then renormalise.
          const sized = body.dimensions === undefined ? vector : normalise(vector.subarray(0, body.dimensions));
          return {
            object: 'embedding',
            index,
            embedding:
              body.encoding_format === 'base64'
                ? Buffer.from(sized.buffer, sized.byteOffset, sized.byteLength).toString('base64')
                : Array.from(sized),
          };
        }),
        usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
      });
    });

  router.use((error: unknown, _request: Request, response: Response, next: NextFunction) => {
    if (response.headersSent) {
      next(error);
      return;
    }
    const rendered = renderError(error);
    response.status(rendered.status).set(rendered.headers).json(rendered.body);
  });
  return router;
}

function matchesModel(requested: string, modelId: string, aliases: readonly string[]): boolean {
  return requested === modelId || requested === basename(modelId) || aliases.includes(requested);
}
