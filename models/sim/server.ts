// The simulated replica's HTTP surface (Express 5): vLLM's OpenAI-compatible routes, or OpenAI's own for the
// hosted profile. Errors from any route are rendered once, in `renderError`'s profile shape; nothing crashes the server.
import express, { type NextFunction, type Request, type Response } from 'express';
import type { GenerationEngine } from './engine.ts';
import { type Profile, SimError, renderError } from './errors.ts';
import { z } from 'zod';
import { FaultConfig, type FaultInjector, FaultSpecError } from './faults.ts';
import type { SimMetrics } from './metrics.ts';
import type { ResponseMode } from './output.ts';
import { type PrepareContext, prepareChat, prepareCompletion } from './prepare.ts';
import { runGeneration } from './respond.ts';
import { type LoraServing, loraModelCards, modelPermission, mountLoraRoutes } from './lora-routes.ts';

export interface SimServerContext {
  profile: Profile;
  /** Model names clients may send; the first is the default (`--served-model-name`). */
  modelNames: readonly string[];
  /** What /v1/models reports as `root` (the Hugging Face id vLLM was launched with). */
  rootModel: string;
  maxModelLen: number;
  engine: GenerationEngine;
  metrics: SimMetrics | undefined;
  faults: FaultInjector;
  responseMode: ResponseMode;
  scriptedText: string | undefined;
  apiKey: string | undefined;
  /** Simulated time at which loading ends (0 = ready at once). */
  readyAtMs: number;
  crash(): void;
  /** LoRA serving (`--enable-lora`): adapters, the dynamic load/unload routes, adapter cards in /v1/models. */
  lora?: LoraServing;
}

const VLLM_VERSION = '0.11.0';

export function createSimApp(context: SimServerContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  const created = Math.floor(Date.now() / 1000);
  const lora = context.lora;
  const prepareContext: PrepareContext = {
    // Registered adapters are valid `model` names too (vLLM: the adapter is chosen per request by name).
    get modelNames() {
      return lora ? [...context.modelNames, ...lora.manager.names()] : context.modelNames;
    },
    maxModelLen: context.maxModelLen,
    responseMode: context.responseMode,
    scriptedText: context.scriptedText,
  };
  const loading = (): boolean => context.engine.clock.now() < context.readyAtMs;
  const isHosted = context.profile === 'hosted';
  if (!isHosted) {
    // vLLM's OpenAI server runs under uvicorn, which names itself in every response.
    app.use((_request, response, next) => {
      response.setHeader('server', 'uvicorn');
      next();
    });
  }

  app.get('/health', (_request, response) => {
    if (loading()) {
      response
        .status(503)
        .json(renderError(new SimError('unavailable', 'The model is still loading.'), context.profile));
      return;
    }
    response.status(200).end();
  });
  app.get('/version', (_request, response) => {
    response.json({ version: `${VLLM_VERSION}+sim` });
  });
  // Simulator-only control: replace the replica-wide faults (`{}` clears them). Not part of vLLM's API.
  app.put('/sim/faults', express.json(), (request, response) => {
    const parsed = FaultConfig.safeParse(request.body);
    if (!parsed.success) {
      response
        .status(400)
        .json(renderError(new SimError('bad_request', z.prettifyError(parsed.error)), context.profile));
      return;
    }
    context.faults.setConfig(parsed.data);
    response.json(parsed.data);
  });
  app.get('/sim/faults', (_request, response) => {
    response.json(context.faults.current);
  });
  app.get('/sim/stats', (_request, response) => {
    response.json({ ...context.engine.stats(), loading: loading() });
  });
  if (!isHosted && context.metrics) {
    const metrics = context.metrics;
    app.get('/metrics', async (_request, response, next) => {
      try {
        const text = await metrics.render();
        response.setHeader('content-type', metrics.contentType);
        response.send(text);
      } catch (error) {
        next(error);
      }
    });
  }

  // Authentication for the API routes (vLLM: --api-key; OpenAI: always).
  app.use('/v1', (request, response, next) => {
    if (context.apiKey === undefined) {
      next();
      return;
    }
    const header = request.headers.authorization ?? '';
    if (header === `Bearer ${context.apiKey}`) {
      next();
      return;
    }
    if (isHosted) {
      const given = header.startsWith('Bearer ') ? header.slice(7) : '';
      const shown = given.length > 8 ? `${given.slice(0, 3)}*****${given.slice(-4)}` : given;
      const message =
        given === ''
          ? "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
          : `Incorrect API key provided: ${shown}. You can find your API key at https://platform.openai.com/account/api-keys.`;
      response.status(401).json(renderError(new SimError('unauthorized', message), 'hosted'));
      return;
    }
    response.status(401).json({ error: 'Unauthorized' });
  });

  app.get('/v1/models', (_request, response) => {
    const data = context.modelNames.map((id) =>
      isHosted
        ? { id, object: 'model', created, owned_by: 'system' }
        : {
            id,
            object: 'model',
            created,
            owned_by: 'vllm',
            root: context.rootModel,
            parent: null,
            max_model_len: context.maxModelLen,
            permission: [modelPermission(id, created)],
          },
    );
    response.json({ object: 'list', data: [...data, ...(isHosted ? [] : loraModelCards(lora, created))] });
  });
  if (lora && !isHosted) {
    mountLoraRoutes(app, lora, () => {
      if (loading()) throw new SimError('unavailable', 'The model is still loading.', { retryAfterSeconds: 1 });
    });
  }

  app.use(express.json({ limit: '64mb', type: () => true }));

  const generate = (prepare: typeof prepareChat) => (request: Request, response: Response) => {
    if (loading()) throw new SimError('unavailable', 'The model is still loading.', { retryAfterSeconds: 1 });
    const header = request.headers['x-sim-fault'];
    let faults;
    try {
      faults = context.faults.forRequest(typeof header === 'string' ? header : undefined);
    } catch (error) {
      if (error instanceof FaultSpecError) throw new SimError('bad_request', error.message);
      throw error;
    }
    const prepared = prepare(request.body as unknown, request.headers, prepareContext);
    if (request.headers['x-sim-timings'] === '1') prepared.simTimings = true;
    if (lora?.manager.has(prepared.model)) prepared.lora = prepared.model;
    if (faults.error) {
      const { status, retryAfterSeconds } = faults.error;
      throw SimError.forStatus(
        status,
        `Simulated failure (HTTP ${status}).`,
        status === 500 ? undefined : retryAfterSeconds,
      );
    }
    runGeneration(prepared, faults, context, response);
  };
  app.post('/v1/chat/completions', generate(prepareChat));
  app.post('/v1/completions', generate(prepareCompletion));

  app.use((_request, response) => {
    if (isHosted) {
      response.status(404).json(renderError(new SimError('route_not_found', 'Invalid URL'), 'hosted'));
    } else response.status(404).json({ detail: 'Not Found' });
  });

  app.use((error: unknown, _request: Request, response: Response, next: NextFunction) => {
    if (response.headersSent) {
      next(error);
      return;
    }
    const simError = toSimError(error);
    if (simError.retryAfterSeconds !== undefined) response.setHeader('retry-after', String(simError.retryAfterSeconds));
    response.status(simError.status).json(renderError(simError, context.profile));
  });
  return app;
}

/** Body-parser failures (malformed JSON, too large) keep their 4xx; anything else is a 500, never a crash. */
function toSimError(error: unknown): SimError {
  if (error instanceof SimError) return error;
  if (typeof error === 'object' && error !== null && 'type' in error && 'status' in error) {
    const { type, status } = error as { type: unknown; status: unknown };
    if (type === 'entity.parse.failed') {
      const detail = error instanceof Error ? error.message : 'invalid JSON';
      return new SimError('bad_request', `JSON decode error: ${detail}`);
    }
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return new SimError('bad_request', error instanceof Error ? error.message : 'Bad request');
    }
  }
  return new SimError('internal', error instanceof Error ? error.message : 'Internal server error');
}
