// Test harness: simulator replicas started in-process on port 0, a router in front of them (real Express server on
// 127.0.0.1:0), and the official `openai` SDK as the client. Used by the router's integration tests and benchmarks.
import OpenAI from 'openai';
import { startSimReplica, type SimReplica, type SimReplicaOptions } from '../../models/sim/index.ts';
import { validateConfig } from '../config/load.ts';
import type { RouterConfigInput } from '../config/schema.ts';
import { startRouter, type RunningRouter, type StartRouterOptions } from '../server.ts';

/** Fast simulated time so generations take milliseconds. */
export const TEST_SPEED = 50;

export async function startReplicas(options: readonly SimReplicaOptions[]): Promise<SimReplica[]> {
  return Promise.all(options.map((option) => startSimReplica({ speed: TEST_SPEED, ...option })));
}

export interface TestRouter {
  router: RunningRouter;
  client: OpenAI;
  baseURL: string;
  close(): Promise<void>;
}

export async function startTestRouter(
  config: RouterConfigInput,
  options: StartRouterOptions = {},
  owned: readonly SimReplica[] = [],
): Promise<TestRouter> {
  // Tests read the request log through `requestLogDestination` when they need it; off otherwise (no stdout noise).
  const quiet = { ...config, server: { requestLog: options.requestLogDestination !== undefined, ...config.server } };
  const router = await startRouter(validateConfig(quiet, '(test)', {}), {
    host: '127.0.0.1',
    port: 0,
    processMetrics: false,
    ...options,
  });
  const baseURL = `${router.url}/v1`;
  const client = new OpenAI({ baseURL, apiKey: 'test', maxRetries: 0, timeout: 20_000 });
  return {
    router,
    client,
    baseURL,
    async close() {
      await router.close();
      await Promise.allSettled(owned.map((replica) => replica.close()));
    },
  };
}

/** A vLLM pool entry over already-started replicas. */
export function vllmPool(
  name: string,
  replicas: readonly SimReplica[],
  extra: Record<string, unknown> = {},
): NonNullable<RouterConfigInput['pools']>[number] {
  return {
    name,
    kind: 'vllm',
    model: 'llama-3.1-8b',
    gpu: 'h100',
    backends: replicas.map((replica, index) => ({ id: `${name}-${index}`, url: replica.url })),
    ...extra,
  } as NonNullable<RouterConfigInput['pools']>[number];
}

/** Scheduling profile for tests: fast scrapes. */
export const FAST_SCHEDULING = { scrapeIntervalMs: 20, staleAfterMs: 2_000 } as const;

/** Fetch JSON (or text) from the router without the SDK, for raw-HTTP checks. */
export async function postRaw(
  url: string,
  body: string | Uint8Array,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(url, { method: 'POST', body, headers });
  return { status: response.status, headers: response.headers, text: await response.text() };
}
