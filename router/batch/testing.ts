// Test/benchmark wiring without the router core: a BatchDispatcher and PoolLoad over simulator replicas (real HTTP),
// and a helper that serves a batch router on its own Express app on 127.0.0.1:0.
import { performance } from 'node:perf_hooks';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { SimReplica } from '../../models/sim/index.ts';
import type { BatchDispatcher, BatchDispatchResult, BatchEndpoint, LoadSnapshot, PoolLoad } from './contracts.ts';
import { createBatchRouter, type BatchApi, type BatchRouterDeps } from './router.ts';

export interface ReplicaPool {
  dispatcher: BatchDispatcher;
  load: PoolLoad;
  /** Batch requests currently in flight to the replicas. */
  inFlight(): number;
  /** Batch requests sent so far. */
  sent(): number;
}

/** Round-robin over replicas; load from each replica's engine stats (running, waiting, KV usage). */
export function replicaPool(replicas: readonly SimReplica[]): ReplicaPool {
  let next = 0;
  let inFlight = 0;
  let sent = 0;
  const dispatcher: BatchDispatcher = {
    async dispatch(endpoint: BatchEndpoint, body, options): Promise<BatchDispatchResult> {
      const replica = replicas[next++ % replicas.length]!;
      inFlight++;
      sent++;
      const started = performance.now();
      try {
        const response = await fetch(`${replica.url}${endpoint}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': options.requestId },
          body: JSON.stringify(body),
          signal: options.signal,
        });
        const text = await response.text();
        const parsed = text === '' ? null : (JSON.parse(text) as unknown);
        if (response.status === 429 || response.status >= 500) {
          throw Object.assign(new Error(`replica answered ${response.status}`), {
            status: response.status,
            retryable: true,
            body: parsed,
          });
        }
        return {
          status: response.status,
          body: parsed,
          backendId: replica.url,
          gpuSeconds: (performance.now() - started) / 1000,
        };
      } finally {
        inFlight--;
      }
    },
  };
  const load: PoolLoad = {
    async headroom(model: string): Promise<LoadSnapshot | null> {
      const serving = replicas.filter((replica) => replica.servedModelName === model);
      if (serving.length === 0) return null;
      const stats = await Promise.all(serving.map((replica) => replica.stats()));
      const running = stats.reduce((sum, item) => sum + item.running + item.waiting, 0);
      return {
        kvUsage: stats.reduce((sum, item) => sum + item.kvUsage, 0) / stats.length,
        waiting: stats.reduce((sum, item) => sum + item.waiting, 0),
        interactiveInFlight: Math.max(0, running - inFlight),
      };
    },
  };
  return { dispatcher, load, inFlight: () => inFlight, sent: () => sent };
}

export interface BatchTestServer {
  api: BatchApi;
  server: Server;
  baseURL: string;
  close(): Promise<void>;
}

/** The batch router alone on an Express app at `${baseURL}` (= http://127.0.0.1:port/v1). */
export async function serveBatchApi(deps: BatchRouterDeps): Promise<BatchTestServer> {
  const api = createBatchRouter(deps);
  const app = express();
  app.use('/v1', api.router);
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    api,
    server,
    baseURL: `http://127.0.0.1:${port}/v1`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await api.close();
    },
  };
}

/** A JSONL batch input of `count` chat requests. */
export function chatBatchLines(count: number, model: string, extra: Record<string, unknown> = {}): string {
  const lines: string[] = [];
  for (let index = 0; index < count; index++) {
    lines.push(
      JSON.stringify({
        custom_id: `request-${index}`,
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model, messages: [{ role: 'user', content: `Classify item ${index}.` }], max_tokens: 8, ...extra },
      }),
    );
  }
  return `${lines.join('\n')}\n`;
}
