// Wires the chain, prompt rollout and feedback into the router: the prompt store (watched), the request log, the
// metrics, `POST /v1/feedback`, `/admin/prompts*`, and the hook the chat route calls for chained requests.
import { Buffer } from 'node:buffer';
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { trace } from '@opentelemetry/api';
import express, { type NextFunction, type Request, type Response } from 'express';
import pino, { type DestinationStream, type Logger } from 'pino';
import { z } from 'zod';
import { AuthenticationError, InvalidRequestError, NotFoundError, PermissionDeniedError } from '../../core/errors.ts';
import type { Governance } from '../governance/governance.ts';
import type { RetrievalChat } from '../rag/chat.ts';
import type { RouterRuntime } from '../runtime/runtime.ts';
import {
  requestLogPath,
  rolloutFilePath,
  type PromptsSectionConfig,
  type RequestLogSectionConfig,
} from '../config/chain.ts';
import type { ChainPlan } from './request.ts';
import { chainMetrics, type ChainMetrics } from './metrics.ts';
import { PromptStore, rolloutEdits, type RolloutState } from './prompt-store.ts';
import { JsonlRequestLog, type RequestLog, type RequestLogging } from './request-log.ts';
import { TrafficOverrides } from './traffic.ts';
import { resolveChainPlan, serveChain, type Admission, type ChainDeps } from './run.ts';

export interface ChainMountOptions {
  /** Where chain and feedback log lines go (default: stdout). */
  logDestination?: DestinationStream;
  environment?: NodeJS.ProcessEnv;
}

/** What the chat route calls: `plan` is synchronous and cheap for requests that do not chain. */
export interface ChainHook {
  plan(body: unknown): ChainPlan | undefined;
  serve(
    request: IncomingMessage,
    response: ServerResponse,
    body: Record<string, unknown>,
    plan: ChainPlan,
    context: { requestId: string; startedAt: number; governance: Governance | undefined; admission: Admission },
  ): Promise<void>;
}

export interface MountedChain {
  router: express.Router;
  hook: ChainHook;
  /** Wraps a generation handler so every answered request lands in the request log. */
  /** What the router's request-log wrapper (routes/log-requests.ts) needs: the log, whether bodies are kept, chained responses. */
  requestLogging: RequestLogging;
  store: PromptStore;
  requestLog: RequestLog | undefined;
  close(): Promise<void>;
}

const FeedbackBody = z.strictObject({
  request_id: z.string().min(1).max(200),
  /** −1 (bad) … 1 (good); thumbs are −1 / 1. */
  score: z.number().min(-1).max(1),
  comment: z.string().max(4000).optional(),
  tags: z.array(z.string().min(1).max(64)).max(20).optional(),
});

const EvalBody = z.strictObject({ version: z.string().min(1), pass_rate: z.number().min(0).max(1) });
const ActivateBody = z.strictObject({ version: z.union([z.string(), z.number()]).transform(String) });
const SplitBody = z.strictObject({ weights: z.record(z.string(), z.number().positive()) });
const PinBody = z.strictObject({ model: z.string().min(1), target: z.string().min(1) });
const UnpinBody = z.strictObject({ model: z.string().min(1) });
const ShiftBody = z.strictObject({ pool: z.string().min(1), on: z.boolean().default(true) });
const ScaleBody = z.strictObject({ pool: z.string().min(1), replicas: z.number().int().min(1).max(64) });

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = issue?.path.join('.') || null;
  throw new InvalidRequestError(`Invalid value for '${param ?? 'body'}': ${issue?.message ?? 'invalid'}.`, {
    param,
    code: 'invalid_value',
  });
}

let feedbackCounter = 0;

export function mountChain(
  runtime: RouterRuntime,
  retrieval: RetrievalChat | undefined,
  governance: Governance | undefined,
  options: ChainMountOptions = {},
): MountedChain {
  const environment = options.environment ?? process.env;
  const sections = runtime.config as unknown as {
    prompts?: PromptsSectionConfig;
    requestLog?: RequestLogSectionConfig;
  };
  const promptsSection: PromptsSectionConfig = sections.prompts ?? { dirs: [], watch: true };
  const logSection: RequestLogSectionConfig = sections.requestLog ?? { enabled: true, bodies: false };
  const logger: Logger = pino(
    { level: environment['SWITCHYARD_LOG_LEVEL'] ?? 'info', base: { component: 'chain' } },
    options.logDestination ?? pino.destination(1),
  );
  const metrics: ChainMetrics = chainMetrics(runtime.metrics.registry);
  const updateGauges = (): void => {
    metrics.activeVersion.reset();
    for (const { name, versions } of store.registry.list()) {
      for (const version of versions) {
        const baseline = store.registry.get(name, version).eval_baseline;
        if (baseline) metrics.evalPassRate.labels({ prompt: name, version, source: 'baseline' }).set(baseline.score);
      }
      const entry = store.state()[name];
      const weights = entry?.weights ?? { [store.resolve(name).prompt.version]: 1 };
      const total = Object.values(weights).reduce((sum, weight) => sum + weight, 0);
      for (const [version, weight] of Object.entries(weights))
        metrics.activeVersion.labels({ prompt: name, version }).set(weight / total);
    }
  };
  const store: PromptStore = new PromptStore({
    dirs: promptsSection.dirs.map((dir) => resolve(dir)),
    rolloutFile: rolloutFilePath(promptsSection, environment),
    watch: promptsSection.watch,
    onReload(error) {
      metrics.reloads.labels({ outcome: error === undefined ? 'ok' : 'rejected' }).inc();
      if (error === undefined) updateGauges();
      else logger.error({ error: error instanceof Error ? error.message : String(error) }, 'prompt_reload_rejected');
    },
  });
  updateGauges();
  // Client `prompt` references follow the rollout for the prompts the store knows: active pointer, sticky A/B split.
  governance?.usePromptRollout((name, version, stickyKey) =>
    store.registry.list().some((entry) => entry.name === name)
      ? store.resolve(name, version, stickyKey).prompt
      : undefined,
  );
  const requestLog = logSection.enabled
    ? new JsonlRequestLog(resolve(requestLogPath(logSection, environment)))
    : undefined;
  const deps: ChainDeps = {
    runtime,
    store,
    retrieval,
    logger,
    tracer: trace.getTracer('switchyard-chain'),
    metrics,
    requestLog,
    logBodies: logSection.bodies,
  };

  const router = express.Router();
  router.post('/v1/feedback', (request: Request, response: Response) => {
    const feedback = parse(FeedbackBody, request.body);
    if (requestLog === undefined) {
      throw new InvalidRequestError(
        'Feedback needs the request log, which is off on this router (config `requestLog.enabled`).',
        {
          code: 'request_log_disabled',
        },
      );
    }
    const logged = requestLog.findRequest(feedback.request_id);
    if (logged === undefined) {
      throw new NotFoundError(`No request with id '${feedback.request_id}' in the request log.`, {
        param: 'request_id',
        code: 'request_not_found',
      });
    }
    const id = `fb_${Date.now().toString(36)}${(feedbackCounter++).toString(36)}`;
    const created = Math.floor(Date.now() / 1000);
    requestLog.append({
      type: 'feedback',
      id,
      request_id: feedback.request_id,
      timestamp: new Date(created * 1000).toISOString(),
      score: feedback.score,
      ...(feedback.comment === undefined ? {} : { comment: feedback.comment }),
      ...(feedback.tags === undefined ? {} : { tags: feedback.tags }),
      model: logged.model,
      prompts: logged.prompts,
    });
    const rating = feedback.score > 0 ? 'positive' : feedback.score < 0 ? 'negative' : 'neutral';
    const model = logged.model ?? 'unknown';
    // A request that used no registry prompt is still counted per model (prompt and version "none").
    const references = new Set(Object.values(logged.prompts));
    if (references.size === 0) references.add('none@none');
    for (const reference of references) {
      const [prompt = '', version = ''] = reference.split('@');
      metrics.feedback.labels({ prompt, version, model, rating }).inc();
      metrics.feedbackScore.labels({ prompt, version, model }).inc(feedback.score);
    }
    logger.info(
      { requestId: feedback.request_id, feedbackId: id, score: feedback.score, tags: feedback.tags ?? [] },
      'feedback',
    );
    response.status(200).json({
      id,
      object: 'feedback',
      request_id: feedback.request_id,
      score: feedback.score,
      model: logged.model,
      prompts: logged.prompts,
      created,
    });
  });

  const adminToken = environment['SWITCHYARD_ADMIN_TOKEN'] ?? runtime.config.governance.keys?.adminToken;
  const requireAdmin = (request: Request, _response: Response, next: NextFunction): void => {
    if (adminToken === undefined) {
      // Without a token only the machine itself may change prompts.
      const address = request.socket.remoteAddress ?? '';
      if (!['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(address)) {
        throw new PermissionDeniedError(
          'Prompt admin endpoints need SWITCHYARD_ADMIN_TOKEN when called from another host.',
          { code: 'admin_disabled' },
        );
      }
      next();
      return;
    }
    const header = request.headers.authorization ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
    const expected = Buffer.from(adminToken);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new AuthenticationError('Invalid or missing admin token.', { code: 'invalid_admin_token' });
    }
    next();
  };
  const describe = (): Array<Record<string, unknown>> =>
    store.registry.list().map(({ name, versions }) => {
      const entry: RolloutState[string] | undefined = store.state()[name];
      return {
        name,
        versions,
        active: store.resolve(name).prompt.version,
        weights: entry?.weights ?? null,
        history: entry?.history ?? [],
      };
    });
  const edited = (response: Response, extra: Record<string, unknown> = {}): void => {
    updateGauges();
    response.json({ object: 'list', data: describe(), ...extra });
  };
  router.get('/admin/prompts', requireAdmin, (_request: Request, response: Response) => {
    response.json({ object: 'list', data: describe(), rollout_file: store.rolloutPath, reloads: store.reloads });
  });
  router.post('/admin/prompts/reload', requireAdmin, (_request: Request, response: Response) => {
    try {
      store.reload();
    } catch (error) {
      throw new InvalidRequestError(
        `Prompt files rejected, the previous ones stay active: ${error instanceof Error ? error.message : String(error)}`,
        {
          code: 'prompt_reload_rejected',
        },
      );
    }
    edited(response);
  });
  router.post('/admin/prompts/:name/activate', requireAdmin, (request: Request, response: Response) => {
    const { version } = parse(ActivateBody, request.body);
    store.edit((state, registry) => rolloutEdits.activate(state, registry, String(request.params['name']), version));
    edited(response);
  });
  router.post('/admin/prompts/:name/split', requireAdmin, (request: Request, response: Response) => {
    const { weights } = parse(SplitBody, request.body);
    store.edit((state, registry) => rolloutEdits.split(state, registry, String(request.params['name']), weights));
    edited(response);
  });
  router.post('/admin/prompts/:name/rollback', requireAdmin, (request: Request, response: Response) => {
    let moved: { from: string; to: string } | undefined;
    store.edit((state, registry) => {
      const result = rolloutEdits.rollback(state, registry, String(request.params['name']));
      moved = { from: result.from, to: result.to };
      return result.state;
    });
    edited(response, { rolled_back: moved });
  });
  router.post('/admin/prompts/:name/eval', requireAdmin, (request: Request, response: Response) => {
    const body = parse(EvalBody, request.body);
    store.registry.get(String(request.params['name']), body.version);
    metrics.evalPassRate
      .labels({ prompt: String(request.params['name']), version: body.version, source: 'eval' })
      .set(body.pass_rate);
    response.json({ prompt: request.params['name'], version: body.version, pass_rate: body.pass_rate });
  });

  const traffic = new TrafficOverrides(runtime);
  router.get('/admin/traffic', requireAdmin, (_request: Request, response: Response) => {
    response.json(traffic.state());
  });
  router.post('/admin/traffic/pin', requireAdmin, (request: Request, response: Response) => {
    const body = parse(PinBody, request.body);
    traffic.pin(body.model, body.target);
    logger.warn({ model: body.model, target: body.target }, 'traffic_pinned');
    response.json(traffic.state());
  });
  router.post('/admin/traffic/unpin', requireAdmin, (request: Request, response: Response) => {
    traffic.unpin(parse(UnpinBody, request.body).model);
    response.json(traffic.state());
  });
  router.post('/admin/traffic/shift', requireAdmin, (request: Request, response: Response) => {
    const body = parse(ShiftBody, request.body);
    traffic.shiftAway(body.pool, body.on);
    logger.warn({ pool: body.pool, on: body.on }, 'traffic_shifted');
    response.json(traffic.state());
  });

  router.post('/admin/traffic/scale', requireAdmin, async (request: Request, response: Response) => {
    const body = parse(ScaleBody, request.body);
    const scaled = await traffic.scale(body.pool, body.replicas);
    logger.warn(scaled, 'pool_scaled');
    response.json({ ...traffic.state(), scaled });
  });

  // Names (and aliases) of models that chain by default: requests without `chain` to other models return at once.
  const chainedByDefault = new Set(
    runtime.config.models
      .filter((model) => model.chain?.enabled === true)
      .flatMap((model) => [model.name, ...model.aliases]),
  );
  const hook: ChainHook = {
    plan(body) {
      if (typeof body !== 'object' || body === null) return undefined;
      if (!('chain' in body) && !chainedByDefault.has((body as { model?: unknown }).model as string)) return undefined;
      return resolveChainPlan(runtime.config, body);
    },
    serve: (request, response, body, plan, context) => {
      chained.add(response);
      return serveChain(deps, { request, response, body, plan, ...context });
    },
  };
  const chained = new WeakSet<ServerResponse>();
  return {
    router,
    hook,
    requestLogging: { requestLog, logBodies: logSection.bodies, chained },
    store,
    requestLog,
    async close() {
      requestLog?.flush();
      store.close();
      await traffic.close();
      logger.flush();
    },
  };
}
