// createBatchRouter(deps): the OpenAI Files + Batches endpoints as an Express Router (mount it at `/v1`, before any
// app-wide JSON body parser, since uploads are multipart), plus the scheduler that runs the batches. Everything it
// touches is injected: storage root, dispatcher, pool load, clock, config, metrics registry.
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import {
  ConflictError,
  InvalidRequestError,
  NotFoundError,
  renderError,
  toSwitchyardError,
} from '../../core/errors.ts';
import { jsonBody } from '../routes/json-body.ts';
import { BatchConfig, type BatchConfigInput } from '../config/batch.ts';
import type { BatchDispatcher, BatchEndpoint, Clock, PoolLoad } from './contracts.ts';
import { FileBlobStore } from './files.ts';
import { createBatchMetrics } from './metrics.ts';
import { readMultipartUpload } from './multipart.ts';
import { batchObject, fileObject, listObject } from './objects.ts';
import { BatchScheduler, newId, toSeconds } from './scheduler.ts';
import { BatchStore, isTerminal, type BatchRecord } from './store.ts';

export interface BatchRouterDeps {
  /** Directory holding batch.sqlite and files/ (created if missing). */
  root: string;
  dispatcher: BatchDispatcher;
  load: PoolLoad;
  clock?: Clock;
  config?: BatchConfigInput;
  /** prom-client registry to add the batch metrics to (the router's own). */
  metricsRegistry?: Registry;
  /** Start the scheduler's timer (default true; tests with a virtual clock drive `scheduler.tick()` themselves). */
  autoStart?: boolean;
  onError?: (error: unknown) => void;
  /**
   * Tenant of a request (e.g. the governance API key id): files and batches are only visible to the owner that
   * created them. Absent or null: one shared space.
   */
  owner?: (request: Request, response: Response) => string | null | undefined;
}

export interface BatchApi {
  readonly router: express.Router;
  readonly scheduler: BatchScheduler;
  readonly store: BatchStore;
  readonly config: BatchConfig;
  /** Stops the scheduler (in-flight lines stay pending for the next start) and closes the database. */
  close(): Promise<void>;
}

const ENDPOINTS: ReadonlySet<string> = new Set<BatchEndpoint>([
  '/v1/chat/completions',
  '/v1/completions',
  '/v1/embeddings',
]);
const JSON_LIMIT_BYTES = 64 * 1024;

/** The router-wide JSON reader, skipped when an app-level parser already consumed the body. */
function readJson(): express.RequestHandler {
  const reader = jsonBody(JSON_LIMIT_BYTES);
  return (request, response, next) => {
    if (request.readableEnded || request.body !== undefined) {
      next();
      return;
    }
    reader(request, response, next);
  };
}

function parseLimit(value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const limit = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new InvalidRequestError(`\`limit\` must be an integer between 1 and ${max}.`, {
      param: 'limit',
      code: 'invalid_value',
    });
  }
  return limit;
}

function optionalString(value: unknown, param: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    throw new InvalidRequestError(`\`${param}\` must be a string.`, { param, code: 'invalid_value' });
  return value;
}

function validateMetadata(value: unknown): Record<string, string> | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidRequestError('`metadata` must be an object of string values.', {
      param: 'metadata',
      code: 'invalid_type',
    });
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 16)
    throw new InvalidRequestError('`metadata` may have at most 16 keys.', { param: 'metadata', code: 'invalid_value' });
  for (const [key, item] of entries) {
    if (key.length > 64 || typeof item !== 'string' || item.length > 512) {
      throw new InvalidRequestError(
        `\`metadata.${key}\` must be a string of at most 512 characters (keys at most 64).`,
        {
          param: `metadata.${key}`,
          code: 'invalid_value',
        },
      );
    }
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

export function createBatchRouter(deps: BatchRouterDeps): BatchApi {
  const config = BatchConfig.parse(deps.config ?? {});
  const clock = deps.clock ?? Date.now;
  const store = new BatchStore(deps.root);
  const blobs = new FileBlobStore(deps.root);
  let inFlightCount = (): number => 0;
  const metrics = deps.metricsRegistry
    ? createBatchMetrics(deps.metricsRegistry, () => ({
        pending: store.db.open ? store.totalPending() : 0,
        inFlight: inFlightCount(),
      }))
    : undefined;
  const running = new BatchScheduler({
    store,
    blobs,
    dispatcher: deps.dispatcher,
    load: deps.load,
    clock,
    config,
    ...(metrics ? { metrics } : {}),
    ...(deps.onError ? { onError: deps.onError } : {}),
  });
  inFlightCount = () => running.inFlightCount;

  const router = express.Router();
  const json = readJson();
  const render = (batch: BatchRecord): Record<string, unknown> =>
    batchObject(batch, isTerminal(batch.status) || batch.status === 'validating' ? 0 : store.pendingCount(batch.id));
  const ownerOf = (request: Request, response: Response): string => deps.owner?.(request, response) ?? '';
  const requireFile = (id: string, owner: string): NonNullable<ReturnType<BatchStore['getFile']>> => {
    const file = store.getFile(id, owner);
    if (!file) throw new NotFoundError(`No such File object: ${id}`, { param: 'id', code: 'file_not_found' });
    return file;
  };
  const requireBatch = (id: string, owner: string): BatchRecord => {
    const batch = store.getBatch(id, owner);
    if (!batch) throw new NotFoundError(`No batch found with id '${id}'.`, { param: 'id', code: 'batch_not_found' });
    return batch;
  };

  router.post('/files', async (request: Request, response: Response) => {
    const upload = await readMultipartUpload(request, config.maxFileBytes);
    const purpose = upload.fields['purpose'];
    if (purpose === undefined) {
      throw new InvalidRequestError('Missing required parameter: `purpose`.', {
        param: 'purpose',
        code: 'missing_required_parameter',
      });
    }
    if (purpose !== 'batch') {
      throw new InvalidRequestError(
        `Unsupported purpose "${purpose}": this server stores files for batches only ("batch").`,
        {
          param: 'purpose',
          code: 'invalid_value',
        },
      );
    }
    const id = newId('file-');
    const bytes = blobs.write(id, [upload.content]);
    const file = {
      id,
      bytes,
      created_at: toSeconds(clock()),
      filename: upload.filename,
      purpose: 'batch' as const,
      owner: ownerOf(request, response),
    };
    store.insertFile(file);
    response.json(fileObject(file));
  });

  router.get('/files', (request: Request, response: Response) => {
    const after = optionalString(request.query['after'], 'after');
    const purpose = optionalString(request.query['purpose'], 'purpose');
    const order = optionalString(request.query['order'], 'order') ?? 'desc';
    if (order !== 'asc' && order !== 'desc')
      throw new InvalidRequestError('`order` must be asc or desc.', { param: 'order' });
    const page = store.listFiles({
      owner: ownerOf(request, response),
      limit: parseLimit(request.query['limit'], 10_000, 10_000),
      order,
      ...(after !== undefined ? { after } : {}),
      ...(purpose !== undefined ? { purpose } : {}),
    });
    response.json(listObject(page.data.map(fileObject) as Array<{ id: unknown }>, page.hasMore));
  });

  router.get('/files/:id', (request: Request, response: Response) => {
    response.json(fileObject(requireFile(String(request.params['id']), ownerOf(request, response))));
  });

  router.get('/files/:id/content', (request: Request, response: Response, next: NextFunction) => {
    const file = requireFile(String(request.params['id']), ownerOf(request, response));
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.bytes });
    const stream = blobs.stream(file.id);
    stream.on('error', (error) => next(error));
    stream.pipe(response);
  });

  router.delete('/files/:id', (request: Request, response: Response) => {
    const file = requireFile(String(request.params['id']), ownerOf(request, response));
    store.deleteFile(file.id);
    blobs.remove(file.id);
    response.json({ id: file.id, object: 'file', deleted: true });
  });

  router.post('/batches', json, (request: Request, response: Response) => {
    const body = request.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw new InvalidRequestError('The request body must be a JSON object.', { code: 'invalid_json' });
    }
    const inputFileId = body['input_file_id'];
    if (typeof inputFileId !== 'string' || inputFileId === '') {
      throw new InvalidRequestError('Missing required parameter: `input_file_id`.', {
        param: 'input_file_id',
        code: 'missing_required_parameter',
      });
    }
    if (typeof body['endpoint'] !== 'string' || !ENDPOINTS.has(body['endpoint'])) {
      throw new InvalidRequestError(`\`endpoint\` must be one of ${[...ENDPOINTS].join(', ')}.`, {
        param: 'endpoint',
        code: 'invalid_value',
      });
    }
    if (body['completion_window'] !== '24h') {
      throw new InvalidRequestError('`completion_window` must be "24h".', {
        param: 'completion_window',
        code: 'invalid_value',
      });
    }
    const metadata = validateMetadata(body['metadata']);
    const owner = ownerOf(request, response);
    const file = store.getFile(inputFileId, owner);
    if (!file)
      throw new NotFoundError(`No such File object: ${inputFileId}`, {
        param: 'input_file_id',
        code: 'file_not_found',
      });
    if (file.purpose !== 'batch') {
      throw new InvalidRequestError(`File ${inputFileId} has purpose "${file.purpose}", not "batch".`, {
        param: 'input_file_id',
        code: 'invalid_value',
      });
    }
    const now = clock();
    const batch: BatchRecord = {
      id: newId('batch_'),
      status: 'validating',
      endpoint: body['endpoint'] as BatchEndpoint,
      input_file_id: inputFileId,
      completion_window: '24h',
      created_at: toSeconds(now),
      expires_at: toSeconds(now + config.windowMs),
      metadata,
      model: null,
      in_progress_at: null,
      finalizing_at: null,
      completed_at: null,
      failed_at: null,
      expired_at: null,
      cancelling_at: null,
      cancelled_at: null,
      output_file_id: null,
      error_file_id: null,
      errors: null,
      total: 0,
      completed: 0,
      failed: 0,
      input_tokens: 0,
      output_tokens: 0,
      cached_tokens: 0,
      gpu_seconds: 0,
      cost_usd: 0,
      hosted_requests: 0,
      owner,
    };
    store.insertBatch(batch);
    running.wake();
    response.json(render(batch));
  });

  router.get('/batches', (request: Request, response: Response) => {
    const after = optionalString(request.query['after'], 'after');
    const page = store.listBatches({
      owner: ownerOf(request, response),
      limit: parseLimit(request.query['limit'], 20, 100),
      ...(after !== undefined ? { after } : {}),
    });
    response.json(listObject(page.data.map(render) as Array<{ id: unknown }>, page.hasMore));
  });

  router.get('/batches/:id', (request: Request, response: Response) => {
    response.json(render(requireBatch(String(request.params['id']), ownerOf(request, response))));
  });

  router.post('/batches/:id/cancel', json, (request: Request, response: Response) => {
    const owner = ownerOf(request, response);
    const batch = requireBatch(String(request.params['id']), owner);
    if (batch.status !== 'cancelling') {
      if (!store.transition(batch.id, ['validating', 'in_progress'], 'cancelling', toSeconds(clock()))) {
        throw new ConflictError(`Cannot cancel a batch with status '${batch.status}'.`, {
          code: 'batch_not_cancellable',
        });
      }
      running.wake();
    }
    response.json(render(requireBatch(batch.id, owner)));
  });

  // Errors of these routes render here, so the router behaves the same standalone and inside the app.
  router.use((error: unknown, _request: Request, response: Response, next: NextFunction) => {
    if (response.headersSent) {
      next(error);
      return;
    }
    const rendered = renderError(toSwitchyardError(error));
    response.status(rendered.status).set(rendered.headers).json(rendered.body);
  });

  if (deps.autoStart ?? true) running.start();
  let closing: Promise<void> | undefined;
  return {
    router,
    scheduler: running,
    store,
    config,
    close() {
      closing ??= (async () => {
        await running.close();
        store.close();
      })();
      return closing;
    },
  };
}
