// `switchyard serve --config deploy/examples/llamacpp.yaml`, in-process: the example's deploy section starts two
// llama-server replicas through the local driver, they register into the `llamacpp` pool once /health answers, the
// openai SDK gets answers from them, and the router's /metrics shows their scraped queue and KV values.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { llamaServerForTests } from '../../deploy/engines/llamacpp/testing.ts';
import { loadConfigFile } from '../config/load.ts';
import { startRouter, type RunningRouter } from '../server.ts';

const install = llamaServerForTests();
const EXAMPLE = new URL('../../deploy/examples/llamacpp.yaml', import.meta.url).pathname;

describe.skipIf(!install)('deploy/examples/llamacpp.yaml', () => {
  let router: RunningRouter;
  const stateDir = mkdtempSync(join(tmpdir(), 'switchyard-serve-llamacpp-'));

  beforeAll(async () => {
    const config = await loadConfigFile(EXAMPLE);
    // The example as written, with its replicas' state kept out of the working tree.
    config.deploy = { ...config.deploy!, stateDir };
    router = await startRouter(config, {
      host: '127.0.0.1',
      port: 0,
      processMetrics: false,
      deployLogger: pino({ level: 'warn' }),
    });
  }, 90_000);
  afterAll(async () => {
    await router?.deployment?.down();
    await router?.close();
    rmSync(stateDir, { recursive: true, force: true });
  }, 30_000);

  it('serves openai SDK calls from two llama-server replicas and exports their scraped signals', async () => {
    const status = router.deployment!.status();
    expect(status.pools[0]?.replicas.filter((replica) => replica.state === 'ready')).toHaveLength(2);
    const client = new OpenAI({ baseURL: `${router.url}/v1`, apiKey: 'none', maxRetries: 0 });
    const models = await client.models.list();
    expect(models.data.map((model) => model.id)).toContain('tiny-llama');
    const seen = new Set<string>();
    for (let index = 0; index < 4; index++) {
      const { data, response } = await client.chat.completions
        .create({ model: 'tiny-llama', messages: [{ role: 'user', content: `Hello ${index}` }], max_tokens: 4 })
        .withResponse();
      expect(data.object).toBe('chat.completion');
      seen.add(response.headers.get('x-switchyard-backend') ?? '');
    }
    expect(seen.size).toBeGreaterThanOrEqual(1);
    const metrics = await (await fetch(`${router.url}/metrics`)).text();
    for (const replica of status.pools[0]!.replicas) {
      expect(metrics).toMatch(
        new RegExp(
          `switchyard_backend_kv_cache_usage_ratio\\{backend="${replica.replicaId}",pool="llamacpp"\\} [0-9.e-]+`,
        ),
      );
      expect(metrics).toMatch(
        new RegExp(`switchyard_backend_queue_requests\\{backend="${replica.replicaId}",pool="llamacpp"\\} 0`),
      );
      expect(metrics).toMatch(
        new RegExp(`switchyard_backend_metrics_stale\\{backend="${replica.replicaId}",pool="llamacpp"\\} 0`),
      );
    }
  });
});
