// The fuzz target: the embedded default (`switchyard serve` with no config: simulated 8B/70B pools, the fake hosted
// tier, retrieval on the tiny models) started in this process on a loopback port. The simulated engines run faster
// than real time (`speed`) so answers take milliseconds; everything else is the embedded default as shipped.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { embeddedDefaultConfig } from '../../router/config/default.ts';
import { validateConfig } from '../../router/config/load.ts';
import { startRouter, type RunningRouter } from '../../router/server.ts';

export interface FuzzTarget {
  url: string;
  router: RunningRouter;
  /** 5xx errors the router itself saw (with their causes), for the report. */
  serverErrors: unknown[];
  close(): Promise<void>;
}

export async function startFuzzTarget(options: { speed?: number } = {}): Promise<FuzzTarget> {
  const indexDir = mkdtempSync(join(tmpdir(), 'fuzz-indexes-'));
  const input = embeddedDefaultConfig({ SWITCHYARD_INDEX_DIR: indexDir });
  input.server = { ...input.server, requestLog: false };
  for (const pool of input.pools ?? []) {
    if (pool.kind !== 'llamacpp' && pool.driver) pool.driver = { ...pool.driver, speed: options.speed ?? 50 };
  }
  const config = validateConfig(input, '(embedded default)', { SWITCHYARD_INDEX_DIR: indexDir });
  const serverErrors: unknown[] = [];
  const router = await startRouter(config, {
    host: '127.0.0.1',
    port: 0,
    processMetrics: false,
    onServerError: (error) => serverErrors.push(error),
  });
  return {
    url: router.url,
    router,
    serverErrors,
    async close() {
      await router.close();
      rmSync(indexDir, { recursive: true, force: true });
    },
  };
}
