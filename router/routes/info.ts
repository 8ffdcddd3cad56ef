// GET /v1/models, /health, /ready and /metrics.
import type { Request, Response } from 'express';
import { NotFoundError } from '../../core/errors.ts';
import type { RouterRuntime } from '../runtime/runtime.ts';

const STARTED = Math.floor(Date.now() / 1000);

/**
 * `localEmbeddingModels`: the router's own embedding model (retrieval), served on /v1/embeddings in-process.
 * `healthDetail`: extra fields for /health (the retrieval snapshots this replica serves).
 */
export function createInfoHandlers(
  runtime: RouterRuntime,
  localEmbeddingModels: readonly string[] = [],
  healthDetail: () => Record<string, unknown> = () => ({}),
) {
  const listAll = () => {
    const routed = runtime.planner.listModelNames().map((entry) => ({
      id: entry.id,
      object: 'model' as const,
      created: STARTED,
      owned_by: entry.ownedBy,
      // LoRA adapters name their base model, as vLLM's /v1/models does.
      ...(entry.parent !== undefined ? { parent: entry.parent } : {}),
    }));
    return [
      ...routed,
      ...localEmbeddingModels
        .filter((id) => !routed.some((model) => model.id === id))
        .map((id) => ({ id, object: 'model' as const, created: STARTED, owned_by: 'switchyard-local' })),
    ];
  };
  let models = listAll();
  let modelList = JSON.stringify({ object: 'list', data: models });
  /** Discovered adapters come and go: with LoRA on, the list is rebuilt per call. */
  const refresh = (): void => {
    if (!runtime.lora) return;
    models = listAll();
    modelList = JSON.stringify({ object: 'list', data: models });
  };

  /** Per model: can at least one backend of its route take a request right now? */
  function readiness(): Record<string, { ready: boolean; backends: string[] }> {
    const result: Record<string, { ready: boolean; backends: string[] }> = {};
    for (const model of runtime.config.models) {
      const usable: string[] = [];
      for (const poolName of model.route) {
        for (const entry of runtime.registry.pool(poolName)) {
          const state = entry.state;
          if (state.healthy && state.circuit !== 'open' && !state.metricsStale) usable.push(state.id);
        }
      }
      result[model.name] = { ready: usable.length > 0, backends: usable };
    }
    return result;
  }

  return {
    listModels(_request: Request, response: Response): void {
      refresh();
      response.type('application/json').send(modelList);
    },
    getModel(request: Request, response: Response): void {
      refresh();
      const found = models.find((model) => model.id === request.params['model']);
      if (!found) {
        throw new NotFoundError(`The model \`${String(request.params['model'])}\` does not exist.`, {
          code: 'model_not_found',
          param: 'model',
        });
      }
      response.json(found);
    },
    health(_request: Request, response: Response): void {
      response.json({ status: 'ok', ...healthDetail() });
    },
    ready(_request: Request, response: Response): void {
      const models = readiness();
      const ready = Object.values(models).every((model) => model.ready);
      response.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', models });
    },
    async metrics(_request: Request, response: Response): Promise<void> {
      const text = await runtime.metrics.registry.metrics();
      response.type(runtime.metrics.registry.contentType).send(text);
    },
  };
}
