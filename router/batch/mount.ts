// How the router app mounts the Batch API: the batch router over the router runtime's dispatcher and backend states
// (adapters.ts), with its metrics on the router's registry. Storage opens lazily — at start-up only if the root
// already holds a batch database (so unfinished batches resume), otherwise on the first /v1/files or /v1/batches
// request (a client polling its batch resumes it) — so routers that never see a batch create nothing on disk.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { authenticatedKey } from '../governance/http.ts';
import type { RouterRuntime } from '../runtime/runtime.ts';
import { routerBatchAdapters } from './adapters.ts';
import type { BatchSectionConfig } from '../config/batch.ts';
import { createBatchRouter, type BatchApi } from './router.ts';

export interface MountedBatchApi {
  /** Mount at the app root, before any JSON body parser (uploads are multipart). */
  readonly router: express.Router;
  /** The running API, once storage is open. */
  api(): BatchApi | undefined;
  close(): Promise<void>;
}

const BATCH_PATHS = /^\/v1\/(files|batches)(\/|$)/;

export function batchRoot(
  section: BatchSectionConfig | undefined,
  environment: NodeJS.ProcessEnv = process.env,
): string {
  return resolve(section?.root ?? environment['SWITCHYARD_BATCH_DIR'] ?? join('.switchyard', 'batch'));
}

export function mountBatchApi(
  runtime: RouterRuntime,
  section: BatchSectionConfig | undefined,
  onError?: (error: unknown) => void,
): MountedBatchApi {
  const router = express.Router();
  let api: BatchApi | undefined;
  let closed = false;
  const root = batchRoot(section);
  const open = (): BatchApi => {
    if (!api) {
      const { enabled: _enabled, root: _root, ...config } = section ?? { enabled: true };
      api = createBatchRouter({
        root,
        ...routerBatchAdapters(runtime),
        config,
        metricsRegistry: runtime.metrics.registry,
        // With governance keys on, each key sees only its own files and batches.
        owner: (_request, response) => authenticatedKey(response)?.id,
        ...(onError ? { onError } : {}),
      });
    }
    return api;
  };
  if (section?.enabled === false) {
    return { router, api: () => undefined, close: async () => undefined };
  }
  // Resume unfinished batches at start-up only when the config names a batch section: a router started without one
  // (tests, benchmarks) must never pick up batches left in the default directory by another run.
  if (section !== undefined && existsSync(join(root, 'batch.sqlite'))) open();
  router.use((request: Request, response: Response, next: NextFunction) => {
    if (closed || !BATCH_PATHS.test(request.path)) {
      next();
      return;
    }
    const mounted = open();
    // Re-enter the batch router under /v1 with the path it expects.
    const original = request.url;
    request.url = request.url.slice('/v1'.length);
    mounted.router(request, response, (error?: unknown) => {
      request.url = original;
      next(error);
    });
  });
  return {
    router,
    api: () => api,
    async close() {
      closed = true;
      await api?.close();
    },
  };
}

/** POST /v1/files: a multipart upload the app-wide JSON reader must leave alone. */
export const BATCH_UPLOAD_PATH = '/v1/files';
