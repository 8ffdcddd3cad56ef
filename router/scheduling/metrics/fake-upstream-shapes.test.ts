// The test kit's fake upstream speaks the metrics shapes the router's own parsers read (vLLM; llama-server's
// /metrics + /slots), so tests that stand it in for an engine exercise the real scrape path.
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../../../core/testing/fake-upstream.ts';
import { parseLlamaCppMetrics } from './parse-llamacpp.ts';
import { parseVllmMetrics } from './parse-vllm.ts';

const upstreams: FakeUpstream[] = [];
afterEach(async () => {
  await Promise.all(upstreams.splice(0).map((upstream) => upstream.close()));
});

describe('fake upstream metrics shapes', () => {
  it('vLLM page parses with the vLLM parser', async () => {
    const upstream = await startFakeUpstream({ kvUsage: 0.25, servedModel: 'llama-3.1-8b' });
    upstreams.push(upstream);
    const metrics = parseVllmMetrics(await (await fetch(`${upstream.url}/metrics`)).text(), 'llama-3.1-8b');
    expect(metrics).toMatchObject({ requestsRunning: 0, requestsWaiting: 0, kvCacheUsage: 0.25 });
  });

  it('llama-server /metrics + /slots parse with the llama.cpp parser, busy slots while a request streams', async () => {
    const upstream = await startFakeUpstream({ engine: 'llamacpp', kvUsage: 0.5, ttftMs: 200 });
    upstreams.push(upstream);
    const pending = fetch(`${upstream.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    while (upstream.requestCount() === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const page = await (await fetch(`${upstream.url}/metrics`)).text();
    const slots: unknown = await (await fetch(`${upstream.url}/slots`)).json();
    const metrics = parseLlamaCppMetrics(page, slots);
    expect(metrics.requestsRunning).toBe(1);
    expect(metrics.kvCacheUsage).toBeCloseTo(0.25, 2);
    await (await pending).text();
  });
});
