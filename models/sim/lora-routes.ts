// vLLM's LoRA HTTP surface: `POST /v1/load_lora_adapter` and `/v1/unload_lora_adapter` (only with runtime updating,
// vLLM's VLLM_ALLOW_RUNTIME_LORA_UPDATING=True; otherwise FastAPI's 404), and the adapter cards of `/v1/models`.
// Success answers are vLLM's plain-text sentences; errors go through the server's one renderer.
import express, { type Express } from 'express';
import type { Clock } from './clock.ts';
import { SimError } from './errors.ts';
import type { LoraManager } from './lora.ts';

export interface LoraServing {
  manager: LoraManager;
  /** Stall the engine for an adapter read; returns the simulated time the read ends. */
  stall(ms: number): number;
  clock: Clock;
}

function field(body: unknown, key: string): unknown {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[key] : undefined;
}

/** Resolves when simulated time reaches `atMs`. */
function until(clock: Clock, atMs: number): Promise<void> {
  return new Promise((resolve) => clock.setTimer(atMs - clock.now(), resolve));
}

export function mountLoraRoutes(app: Express, lora: LoraServing, assertReady: () => void): void {
  if (!lora.manager.options.runtimeUpdating) return;
  app.post('/v1/load_lora_adapter', express.json({ type: () => true }), async (request, response) => {
    assertReady();
    const name = field(request.body, 'lora_name');
    const path = field(request.body, 'lora_path');
    if (typeof name !== 'string' || name === '' || typeof path !== 'string' || path === '') {
      throw new SimError('invalid_user_input', "Both 'lora_name' and 'lora_path' must be provided.");
    }
    if (field(request.body, 'load_inplace') === true && lora.manager.has(name)) lora.manager.unregister(name);
    const readMs = lora.manager.register(name, path);
    if (readMs > 0) await until(lora.clock, lora.stall(readMs));
    response.status(200).type('text/plain').send(`Success: LoRA adapter '${name}' added successfully.`);
  });
  app.post('/v1/unload_lora_adapter', express.json({ type: () => true }), (request, response) => {
    assertReady();
    const name = field(request.body, 'lora_name');
    const id = field(request.body, 'lora_int_id');
    if ((typeof name !== 'string' || name === '') && typeof id !== 'number') {
      throw new SimError('invalid_user_input', "either 'lora_name' and 'lora_int_id' needs to be provided.");
    }
    const target =
      typeof name === 'string' && name !== '' ? name : lora.manager.list().find((adapter) => adapter.id === id)?.name;
    lora.manager.unregister(target ?? String(name ?? id));
    response.status(200).type('text/plain').send(`Success: LoRA adapter '${target}' removed successfully.`);
  });
}

/** `/v1/models` entries of the registered adapters: `root` is the adapter path, `parent` the base model. */
export function loraModelCards(lora: LoraServing | undefined, created: number): Array<Record<string, unknown>> {
  if (!lora) return [];
  return lora.manager.list().map((adapter) => ({
    id: adapter.name,
    object: 'model',
    created,
    owned_by: 'vllm',
    root: adapter.path,
    parent: adapter.parent,
    max_model_len: null,
    permission: [modelPermission(adapter.name, created)],
  }));
}

/** The permission entry vLLM puts on every model card, base models and adapters alike. */
export function modelPermission(id: string, created: number): Record<string, unknown> {
  return {
    id: `modelperm-${id}`,
    object: 'model_permission',
    created,
    allow_create_engine: false,
    allow_sampling: true,
    allow_logprobs: true,
    allow_search_indices: false,
    allow_view: true,
    allow_fine_tuning: false,
    organization: '*',
    group: null,
    is_blocking: false,
  };
}
