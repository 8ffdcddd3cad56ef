// Endpoint discovery: DNS answers (A, SRV, empty, failing) from an injected resolver, and a real router whose vLLM
// pool follows them — real simulator replicas join after their health check, a dead address never joins, a removed
// replica drains (its in-flight stream finishes, new requests go elsewhere) and is then forgotten.
import { createServer } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimReplica, type SimReplica } from '../../models/sim/index.ts';
import { parseConfigText } from '../config/load.ts';
import { startRouter } from '../server.ts';
import { DiscoveryConfig, type DiscoveryEvent, type DnsResolver, resolveEndpoints } from './index.ts';

function dnsError(code: string): Error {
  return Object.assign(new Error(`query failed: ${code}`), { code });
}

describe('resolveEndpoints', () => {
  const table: DnsResolver = {
    resolve4: (name) => {
      if (name === 'vllm.ns.svc') return Promise.resolve(['10.0.0.3', '10.0.0.1', '10.0.0.3']);
      if (name === 'pod-a.vllm.ns.svc') return Promise.resolve(['10.0.0.7']);
      if (name === 'broken.ns.svc') return Promise.reject(dnsError('ESERVFAIL'));
      return Promise.reject(dnsError('ENOTFOUND'));
    },
    resolveSrv: (name) => {
      if (name === '_http._tcp.vllm.ns.svc')
        return Promise.resolve([
          { name: 'pod-a.vllm.ns.svc', port: 8001 },
          { name: '10.0.0.9', port: 8002 },
        ]);
      return Promise.reject(dnsError('ENODATA'));
    },
  };

  it('A records: every distinct address on the configured port, sorted', async () => {
    const config = DiscoveryConfig.parse({ dns: { name: 'vllm.ns.svc', port: 8000 } });
    expect(await resolveEndpoints(config.dns, table)).toEqual([
      { host: '10.0.0.1', port: 8000 },
      { host: '10.0.0.3', port: 8000 },
    ]);
  });

  it('SRV records: each target on its own port, targets resolved to addresses', async () => {
    const config = DiscoveryConfig.parse({ dns: { name: '_http._tcp.vllm.ns.svc', record: 'SRV' } });
    expect(await resolveEndpoints(config.dns, table)).toEqual([
      { host: '10.0.0.7', port: 8001 },
      { host: '10.0.0.9', port: 8002 },
    ]);
  });

  it('no such name / no data is an empty pool; any other failure throws (the current endpoints stay)', async () => {
    expect(await resolveEndpoints(DiscoveryConfig.parse({ dns: { name: 'gone.ns.svc', port: 1 } }).dns, table)).toEqual(
      [],
    );
    expect(
      await resolveEndpoints(DiscoveryConfig.parse({ dns: { name: '_http._tcp.gone', record: 'SRV' } }).dns, table),
    ).toEqual([]);
    await expect(
      resolveEndpoints(DiscoveryConfig.parse({ dns: { name: 'broken.ns.svc', port: 1 } }).dns, table),
    ).rejects.toThrow(/ESERVFAIL/);
  });

  it('config: A records need a port; the interval has a floor', () => {
    expect(DiscoveryConfig.safeParse({ dns: { name: 'x' } }).error?.issues[0]).toMatchObject({
      path: ['dns', 'port'],
      message: 'A records need a port',
    });
    expect(DiscoveryConfig.safeParse({ dns: { name: 'x', port: 1 }, intervalMs: 5 }).success).toBe(false);
  });
});

describe('a router pool fed by discovery (real router, real simulator replicas)', () => {
  const replicas: SimReplica[] = [];
  let deadPort = 0;

  beforeAll(async () => {
    replicas.push(
      ...(await Promise.all([0, 1, 2].map(() => startSimReplica({ model: 'llama-3.1-8b', gpu: 'h100', speed: 0.5 })))),
    );
    // A port nothing listens on: taken, then released.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    deadPort = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.close()));
  });

  it('joins healthy endpoints, skips a dead one, drains a removed one without failing its stream', async () => {
    const [r0, r1, r2] = replicas as [SimReplica, SimReplica, SimReplica];
    let records = [{ name: '127.0.0.1', port: r0.port }];
    const resolver: DnsResolver = {
      resolve4: () => Promise.reject(dnsError('ENOTFOUND')),
      resolveSrv: () => Promise.resolve(records),
    };
    const events: DiscoveryEvent[] = [];
    const config = parseConfigText(
      JSON.stringify({
        server: { host: '127.0.0.1', port: 0 },
        pools: [
          {
            name: 'sim',
            kind: 'vllm',
            model: 'llama-3.1-8b',
            gpu: 'h100',
            discovery: { dns: { name: '_http._tcp.sim.test', record: 'SRV' }, intervalMs: 100, healthTimeoutMs: 1_000 },
          },
        ],
        models: [{ name: 'llama-3.1-8b', route: ['sim'] }],
        // A loaded shared machine can stall the scrape loop past the default 500 ms.
        scheduling: { staleAfterMs: 5_000 },
      }),
      'discovery test',
      {},
    );
    const router = await startRouter(config, {
      port: 0,
      discovery: { resolver, onEvent: (event) => events.push(event) },
    });
    const ids = (): string[] =>
      router.runtime.pools
        .list('sim')
        .map((replica) => replica.replicaId)
        .sort();
    const until = async (condition: () => boolean, what: string): Promise<void> => {
      const deadline = Date.now() + 15_000;
      while (!condition()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; replicas ${ids().join(', ')}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };
    try {
      expect(ids()).toEqual([`sim/127.0.0.1:${r0.port}`]);
      const client = new OpenAI({ baseURL: `${router.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 30_000 });

      // A long stream on r0, the only replica, is under way when discovery stops returning r0.
      const stream = await client.chat.completions.create({
        model: 'llama-3.1-8b',
        messages: [{ role: 'user', content: 'tell a long story' }],
        max_tokens: 600,
        stream: true,
      });
      const iterator = stream[Symbol.asyncIterator]();
      const first = await iterator.next();
      expect(first.done).toBe(false);

      records = [
        { name: '127.0.0.1', port: r1.port },
        { name: '127.0.0.1', port: r2.port },
        { name: '127.0.0.1', port: deadPort },
      ];
      const routable = (port: number): boolean =>
        ids().includes(`sim/127.0.0.1:${port}`) && !router.runtime.scraper.isStale(`sim/127.0.0.1:${port}`);
      await until(() => routable(r1.port) && routable(r2.port), 'r1 and r2 to join and be scraped');
      await until(
        () => events.some((event) => event.type === 'unhealthy' && event.replicaId === `sim/127.0.0.1:${deadPort}`),
        'the dead endpoint to be reported',
      );
      expect(ids()).not.toContain(`sim/127.0.0.1:${deadPort}`);
      // r0 is draining: still known (its stream runs) but gets no new request.
      expect(router.runtime.registry.get(`sim/127.0.0.1:${r0.port}`)?.draining).toBe(true);

      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, index) =>
          client.chat.completions.create({
            model: 'llama-3.1-8b',
            messages: [{ role: 'user', content: `question ${index}` }],
            max_tokens: 4,
          }),
        ),
      );
      expect(answers.every((answer) => answer.usage?.completion_tokens === 4)).toBe(true);
      const [s0, s1, s2] = await Promise.all([r0.stats(), r1.stats(), r2.stats()]);
      expect(s0.requestsFinished).toBe(0);
      expect(s1.requestsFinished + s2.requestsFinished).toBe(6);

      // The stream finishes in full on the draining replica, then r0 is forgotten.
      let finishReason: string | null | undefined;
      for (let next = await iterator.next(); !next.done; next = await iterator.next())
        finishReason ??= next.value.choices[0]?.finish_reason;
      expect(['stop', 'length']).toContain(finishReason);
      expect(await r0.stats()).toMatchObject({ requestsFinished: 1, requestsAborted: 0 });
      await until(
        () => !ids().includes(`sim/127.0.0.1:${r0.port}`) && events.some((event) => event.type === 'drained'),
        'r0 to be drained and deregistered',
      );
      expect(events.find((event) => event.type === 'drained')).toMatchObject({ replicaId: `sim/127.0.0.1:${r0.port}` });

      // A DNS outage keeps the current endpoints.
      const before = ids();
      resolver.resolveSrv = () => Promise.reject(dnsError('ETIMEOUT'));
      await until(() => events.some((event) => event.type === 'lookup-failed'), 'a failed lookup');
      expect(ids()).toEqual(before);
    } finally {
      await router.close();
    }
  }, 60_000);
});
