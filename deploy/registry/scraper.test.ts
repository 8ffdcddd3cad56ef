import { afterAll, describe, expect, it } from 'vitest';
import { RealClock, startSimReplica, type SimReplica } from '../../models/sim/index.ts';
import { InMemoryPoolRegistry } from './memory.ts';
import { VllmMetricsScraper, parseVllmLoad } from './scraper.ts';

const replicas: SimReplica[] = [];
afterAll(async () => {
  for (const replica of replicas) await replica.close();
});

describe('vLLM /metrics scraper (feeds the autoscaler when no router is plugged in)', () => {
  it('reads KV usage, waiting and running from a real simulator replica into the registry', async () => {
    const replica = await startSimReplica({
      model: 'llama-3.1-8b',
      gpu: 'a10g',
      speed: 1,
      kvBlocks: 64,
      maxNumSeqs: 2,
    });
    replicas.push(replica);
    const registry = new InMemoryPoolRegistry({ clock: new RealClock() });
    registry.register({ replicaId: 'sim-1', pool: 'p', model: 'llama-3.1-8b', url: replica.url, gpuIds: [] });
    // Four long requests on a 2-sequence engine with a tiny KV cache: some run, some wait.
    const body = JSON.stringify({
      model: 'llama-3.1-8b',
      messages: [{ role: 'user', content: 'x '.repeat(200) }],
      max_tokens: 300,
      ignore_eos: true,
    });
    const pending = Array.from({ length: 4 }, () =>
      fetch(`${replica.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
        .then((response) => response.text())
        // The replica is closed with these still running.
        .catch(() => ''),
    );
    const scraper = new VllmMetricsScraper({ registry, clock: new RealClock() });
    let signals = registry.read('p');
    for (
      let attempt = 0;
      attempt < 50 && (signals.replicas[0]!.requestsRunning === 0 || signals.replicas[0]!.requestsWaiting === 0);
      attempt++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      await scraper.scrapeOnce();
      signals = registry.read('p');
    }
    const [load] = signals.replicas;
    // At most maxNumSeqs (2) run; the rest (or a preempted one) wait; none has finished.
    expect(load!.requestsRunning).toBeGreaterThanOrEqual(1);
    expect(load!.requestsRunning).toBeLessThanOrEqual(2);
    expect(load!.requestsWaiting).toBeGreaterThanOrEqual(1);
    expect(load!.requestsRunning + load!.requestsWaiting).toBe(4);
    expect(load!.kvCacheUsage).toBeGreaterThan(0);
    expect(pending).toHaveLength(4);
  });

  it('understands the legacy metric name and ignores bodies without vLLM series', () => {
    expect(
      parseVllmLoad('vllm:gpu_cache_usage_perc{model_name="m"} 0.5\nvllm:num_requests_waiting{model_name="m"} 3\n'),
    ).toEqual({
      kvCacheUsage: 0.5,
      requestsWaiting: 3,
      requestsRunning: 0,
    });
    expect(parseVllmLoad('process_cpu_seconds_total 1\n')).toBeUndefined();
  });
});
