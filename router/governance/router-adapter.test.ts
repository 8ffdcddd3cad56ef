// The router adapter against a real router runtime (real config schema, backend registry, dispatcher, scraper) in
// front of a fake vLLM upstream, assembled here without touching the router's own files: key auth over the router's
// info routes, dashboard data and backend gauges from the real registry, a non-streamed generation through the real
// dispatcher with finishBuffered (self-hosted cost from the pool's GPUs).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatCompletionRequest, parseBody } from '../../core/openai-schemas.ts';
import { validateConfig } from '../config/load.ts';
import { renderError } from '../../core/errors.ts';
import { createInfoHandlers } from '../routes/info.ts';
import { createRequestTimer } from '../routing/upstream-body.ts';
import { createRouterRuntime, type RouterRuntime } from '../runtime/runtime.ts';
import { startFakeUpstream, type FakeUpstream } from '../../core/testing/fake-upstream.ts';
import { GovernanceConfig } from '../config/governance.ts';
import type { Governance } from './governance.ts';
import {
  admitGeneration,
  createRouterGovernance,
  failGeneration,
  finishBuffered,
  installGovernanceRoutes,
} from './router-adapter.ts';
import { keyAuthMiddleware } from './http.ts';

describe('router adapter on a real router runtime', () => {
  let upstream: FakeUpstream;
  let runtime: RouterRuntime;
  let governance: Governance | undefined;
  let server: Server;
  let url: string;
  let key: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ tokens: 8 });
    const config = validateConfig(
      {
        pools: [
          {
            name: 'gpu',
            kind: 'vllm',
            model: 'llama-3.1-8b',
            gpu: 'a10g',
            tensorParallel: 1,
            backends: [{ id: 'gpu-0', url: upstream.url }],
          },
        ],
        models: [{ name: 'llama-3.1-8b', aliases: ['small'], route: ['gpu'] }],
        scheduling: { scrapeIntervalMs: 50, staleAfterMs: 5_000 },
      },
      '(test)',
      {},
    );
    runtime = await createRouterRuntime(config, { processMetrics: false });
    governance = createRouterGovernance(
      GovernanceConfig.parse({ enabled: true, keys: { database: ':memory:', adminToken: 'x'.repeat(20) } }),
      runtime,
    );
    expect(createRouterGovernance(GovernanceConfig.parse({}), runtime)).toBeUndefined();
    key = governance?.keys?.create({ name: 'adapter', owner: 'o', dailyBudgetUsd: 1 }).key ?? '';
    const app = express();
    app.use(express.json());
    // The router's pipeline runs key auth as its `auth` stage (routes/pipeline.ts); this app mounts the same check.
    app.use(keyAuthMiddleware(governance!));
    installGovernanceRoutes(app, governance, runtime);
    const info = createInfoHandlers(runtime);
    app.get('/v1/models', info.listModels);
    app.get('/metrics', info.metrics);
    app.post('/v1/chat/completions', async (request: Request, response: Response) => {
      const started = performance.now();
      const admission = await admitGeneration(
        governance,
        'chat',
        request,
        request.body,
        response,
        'adapter-1',
        started,
      );
      try {
        const body = parseBody(ChatCompletionRequest, admission?.body ?? request.body);
        const plan = runtime.planner.plan(body.model, body as Parameters<typeof runtime.planner.plan>[1]);
        const result = await runtime.dispatcher.dispatch({
          endpoint: 'chat',
          body,
          plan,
          scheduling: { requestId: 'adapter-1', promptTokens: 10, prefixBlockHashes: [] },
          requestId: 'adapter-1',
          signal: new AbortController().signal,
          timer: createRequestTimer(started),
        });
        if (result.streamed) throw new Error('expected a JSON answer');
        result.lease.finish('success');
        const finished = finishBuffered(governance, admission, result.body, {
          pool: result.lease.entry.state.pool,
          backendId: result.lease.entry.state.id,
        });
        response.status(200).set(finished.headers).json(result.body);
        await finished.settle();
      } catch (error) {
        await failGeneration(governance, admission, error);
        throw error;
      }
    });
    app.use((error: unknown, _request: Request, response: Response, _next: NextFunction) => {
      const rendered = renderError(error);
      response.status(rendered.status).set(rendered.headers).json(rendered.body);
    });
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // Let the scraper see the upstream's /metrics once.
    await new Promise((resolve) => setTimeout(resolve, 150));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await governance?.close();
    await runtime?.close();
    await upstream?.close();
  });

  it('guards the router’s /v1 routes with keys and leaves /metrics open', async () => {
    expect((await fetch(`${url}/v1/models`)).status).toBe(401);
    const models = await new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 }).models.list();
    expect(models.data.map((model) => model.id)).toContain('llama-3.1-8b');
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
  });

  it('costs a real dispatch on a self-hosted pool and reports backend gauges and dashboard data', async () => {
    const { response } = await new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 }).chat.completions
      .create({ model: 'small', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(Number(response.headers.get('x-switchyard-cost-usd'))).toBeGreaterThan(0);
    expect(Number(response.headers.get('x-switchyard-cost-reserved-usd'))).toBeGreaterThan(0);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/switchyard_backend_kv_cache_usage_ratio\{backend="gpu-0",pool="gpu"\} 0\.1/);
    expect(metrics).toMatch(
      /switchyard_cost_usd_total\{model="llama-3.1-8b",pool="gpu",kind="self-hosted",team="default"\} [0-9.e-]+/,
    );
    const dashboard = (await (await fetch(`${url}/dashboard/data`)).json()) as {
      backends: Array<{ id: string; kvUsage: number; queue: number }>;
      spendTodayUsd: number;
    };
    expect(dashboard.backends).toEqual([expect.objectContaining({ id: 'gpu-0', kvUsage: 0.1, queue: 0 })]);
    expect(dashboard.spendTodayUsd).toBeGreaterThan(0);
  });
});
