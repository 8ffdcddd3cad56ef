// A real Express app that runs a request through the whole governance chain in the order the router does:
// key auth → admit (prompt, output length, input guard, limits, budget, cache) → validation → "upstream" →
// output guard (stream hold-back) → price/trailer → settle. The upstream is an in-process fake whose reply the test
// chooses with headers, so every path (streams, missing usage, failures) is reachable. Used by the chain tests, the
// two-replica Redis test and the overhead benchmark.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { Registry } from 'prom-client';
import { ChatCompletionRequest, parseBody } from '../../../core/openai-schemas.ts';
import { UpstreamError, renderError, toSwitchyardError } from '../../../core/errors.ts';
import { GovernanceConfig, type GovernanceConfigInput } from '../../config/governance.ts';
import { PricingCatalog } from '../cost/pricing.ts';
import { Governance, type GovernanceDeps } from '../governance.ts';
import {
  addCostTrailer,
  adminRouter,
  authenticatedKey,
  declareCostTrailer,
  keyAuthMiddleware,
  serveCacheHit,
} from '../http.ts';
import { dashboardRouter } from '../observability/dashboard.ts';
import { countTokens } from '../tokens.ts';

export const TEST_POOLS = [
  { name: 'gpu-pool', kind: 'vllm' as const, gpu: 'h100', tensorParallel: 2 },
  { name: 'hosted-pool', kind: 'openai' as const, modelMap: { 'hosted-small': 'gpt-4o-mini' }, costPer1MTokens: 1 },
];
export const TEST_ROUTES = [
  { name: 'llama-3.1-8b', aliases: ['small'], route: ['gpu-pool'] },
  { name: 'hosted-small', aliases: [], route: ['hosted-pool'] },
];

export interface ChainApp {
  url: string;
  governance: Governance;
  registry: Registry;
  server: Server;
  close(): Promise<void>;
}

/** Reply chosen by the test: `x-test-reply` = JSON array of content chunks (default: a short answer). */
function replyChunks(request: Request): string[] {
  const header = request.headers['x-test-reply'];
  if (typeof header === 'string') return JSON.parse(decodeURIComponent(header)) as string[];
  return ['Hello', ' from', ' the', ' fake', ' upstream', '.'];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function startChainApp(
  configInput: GovernanceConfigInput,
  deps: Partial<Omit<GovernanceDeps, 'config' | 'registry' | 'pricing'>> = {},
): Promise<ChainApp> {
  const registry = new Registry();
  const config = GovernanceConfig.parse(configInput);
  const governance = await Governance.create({
    config,
    registry,
    pricing: new PricingCatalog(TEST_POOLS, TEST_ROUTES),
    ...deps,
  });
  governance.registerBackend('gpu-pool-0', 'gpu-pool');
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '4mb' }));
  app.use(keyAuthMiddleware(governance));
  app.use('/admin', adminRouter(governance));
  app.use(
    dashboardRouter(() => ({
      time: new Date().toISOString(),
      requestsPerSecond: governance.requestsPerSecond(),
      spendTodayUsd: governance.spentTodayUsd(),
      backends: [
        {
          id: 'gpu-pool-0',
          pool: 'gpu-pool',
          kind: 'vllm',
          healthy: true,
          circuit: 'closed',
          inFlight: 0,
          queue: 0,
          kvUsage: 0.25,
        },
      ],
      recentErrors: governance.recentErrors,
    })),
  );
  app.get('/health', (_request, response) => {
    response.json({ status: 'ok' });
  });
  app.get('/metrics', async (_request, response) => {
    response.type(registry.contentType).send(await registry.metrics());
  });
  app.get('/v1/models', (_request, response) => {
    response.json({
      object: 'list',
      data: TEST_ROUTES.map((route) => ({ id: route.name, object: 'model', created: 0, owned_by: 'test' })),
    });
  });

  app.post('/v1/chat/completions', async (request: Request, response: Response) => {
    const requestId = String(request.headers['x-request-id'] ?? `req-${Math.random().toString(36).slice(2)}`);
    const cacheHeader = request.headers['x-switchyard-cache'];
    const admission = await governance.admit({
      endpoint: 'chat',
      key: authenticatedKey(response),
      body: request.body as Record<string, unknown>,
      requestId,
      cacheControl: typeof cacheHeader === 'string' ? cacheHeader : undefined,
    });
    try {
      const body = parseBody(ChatCompletionRequest, admission.body);
      const includeUsage = body.stream_options?.include_usage === true;
      if (await serveCacheHit(governance, admission, response, { stream: body.stream === true, includeUsage })) return;
      if (request.headers['x-test-fail']) throw new UpstreamError('upstream exploded', 500, true);
      const route = TEST_ROUTES.find((entry) => entry.name === body.model || entry.aliases.includes(body.model));
      const pool = route?.route[0] ?? 'gpu-pool';
      const served = { pool, backendId: pool === 'gpu-pool' ? 'gpu-pool-0' : pool };
      const chunks = replyChunks(request);
      const text = chunks.join('');
      const withUsage = !request.headers['x-test-no-usage'];
      const usage = withUsage
        ? {
            prompt_tokens: admission.promptTokens,
            completion_tokens: countTokens(text),
            total_tokens: admission.promptTokens + countTokens(text),
          }
        : undefined;
      const delayMs = Number(request.headers['x-test-delay-ms'] ?? 0);
      const base = { id: `chatcmpl-${requestId}`, created: 1_700_000_000, model: body.model };
      if (!body.stream) {
        if (delayMs > 0) await sleep(delayMs);
        const out: Record<string, unknown> = {
          ...base,
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop', logprobs: null }],
          ...(usage ? { usage } : {}),
        };
        governance.guardBody(admission, out);
        const settled = await governance.settle(admission, {
          usage,
          served,
          status: 200,
          outputText: text,
          cacheAnswer: { kind: 'body', body: structuredClone(out) },
        });
        response
          .status(200)
          .set({ ...admission.headers, ...settled.headers })
          .json(out);
        return;
      }
      response.writeHead(
        200,
        declareCostTrailer({
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache',
          ...admission.headers,
        }),
      );
      const observer = governance.observeStream(admission);
      const send = (chunk: Record<string, unknown> | null): void => {
        if (chunk) response.write(`data: ${JSON.stringify(chunk)}\n\n`);
      };
      const chunkOf = (delta: Record<string, unknown>, finish: string | null): Record<string, unknown> => ({
        ...base,
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta, finish_reason: finish }],
      });
      send(observer.transform(chunkOf({ role: 'assistant', content: '' }, null)));
      for (const [index, piece] of chunks.entries()) {
        if (delayMs > 0) await sleep(delayMs);
        if (response.destroyed) break;
        send(observer.transform(chunkOf({ content: piece }, index === chunks.length - 1 ? 'stop' : null)));
        if (observer.blocked) break;
      }
      for (const extra of observer.end()) send(extra);
      if (usage) {
        const usageChunk = observer.transform({ ...base, object: 'chat.completion.chunk', choices: [], usage });
        if (includeUsage) send(usageChunk);
      }
      const outcome = { usage, served, status: 200, outputText: observer.outputText };
      addCostTrailer(response, governance.price(admission, outcome).costUsd);
      response.end('data: [DONE]\n\n');
      await governance.settle(admission, { ...outcome, cacheAnswer: observer.cacheAnswer() });
    } catch (error) {
      await governance.release(admission, error);
      throw error;
    }
  });

  app.use((error: unknown, _request: Request, response: Response, _next: NextFunction) => {
    const typed = toSwitchyardError(error);
    if (response.headersSent) {
      response.end();
      return;
    }
    const rendered = renderError(typed);
    response.status(rendered.status).set(rendered.headers).json(rendered.body);
  });

  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    governance,
    registry,
    server,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await governance.close();
    },
  };
}
