// A router that manages its own replicas (config `deploy`): deploy/ starts simulator processes with the local
// driver, registers them into the router's pool when healthy, and drains them through the router on scale-down.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigText } from './config/load.ts';
import { type RunningRouter, startRouter } from './server.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'switchyard-router-deploy-'));
const yaml = `
pools:
  - { name: managed, kind: vllm, model: llama-3.1-8b, gpu: a10g }
models:
  - { name: small, route: [managed] }
scheduling: { filters: [healthy, serves-model, circuit-closed], scorers: [{ type: in-flight, weight: 1 }] }
deploy:
  driver: local
  gpus: 2
  stateDir: ${stateDir}
  simSpeed: 20
  autoscaler: { enabled: false }
  pools:
    - { name: managed, model: llama-3.1-8b, gpu: a10g, replicas: 2, maxReplicas: 2, healthTimeoutMs: 30000, stopGraceMs: 2000 }
`;

let router: RunningRouter | undefined;

afterAll(async () => {
  if (router?.deployment)
    await Promise.all(router.deployment.controllers.map((controller) => controller.scaleTo(0, 'test teardown')));
  await router?.close();
}, 60_000);

describe('router with a deploy section', () => {
  it('rejects a deploy pool that has no vllm pool of the same name', () => {
    expect(() => parseConfigText(yaml.replace('- { name: managed, model', '- { name: elsewhere, model'))).toThrow(
      /deploy\.pools\[0\]\.name: deploy pool "elsewhere" needs a vllm pool/,
    );
  });

  it('starts its replicas, routes to them, and drains them through its own pool registry', async () => {
    router = await startRouter(parseConfigText(yaml), { host: '127.0.0.1', port: 0 });
    expect(router.deployment?.status().pools[0]?.replicas.map((replica) => replica.state)).toEqual(['ready', 'ready']);
    const registered = await router.runtime.pools.list('managed');
    expect(registered).toHaveLength(2);

    const client = new OpenAI({ baseURL: `${router.url}/v1`, apiKey: 'none' });
    const served = new Set<string>();
    for (let index = 0; index < 4; index += 1) {
      const { data, response } = await client.chat.completions
        .create({ model: 'small', messages: [{ role: 'user', content: `request ${index}` }], max_tokens: 3 })
        .withResponse();
      expect(data.usage?.completion_tokens).toBe(3);
      served.add(response.headers.get('x-switchyard-backend') ?? '');
    }
    // Every answer came from a replica the deployment registered.
    const registeredIds = new Set(registered.map((replica) => replica.replicaId));
    for (const backend of served) expect([...registeredIds].some((id) => backend.includes(id))).toBe(true);

    await router.deployment?.controllers[0]?.scaleTo(1, 'test');
    expect(await router.runtime.pools.list('managed')).toHaveLength(1);
  }, 90_000);
});
