// lora-affinity: running > waiting > free slot > full (eviction), the registered bonus, the router's own recent
// sends covering scrape lag, and neutrality for requests that name no adapter.
import { describe, expect, it } from 'vitest';
import { makeBackend, makeMetrics, makeRequest } from '../../../testing.ts';
import { createLoraAffinityScorer } from './index.ts';
import { parseLoraRequestsInfo } from '../../../metrics/parse-lora.ts';
import { parseVllmMetrics } from '../../../metrics/parse-vllm.ts';

const withLora = (id: string, running: string[], waiting: string[], maxLoras = 2, registered: string[] = []) =>
  makeBackend(id, {
    metrics: makeMetrics({ lora: { running, waiting, maxLoras } }),
    registeredAdapters: new Set(registered),
  });

describe('lora-affinity scorer', () => {
  let now = 0;
  const scorer = () => createLoraAffinityScorer({ recentMs: 500, clock: () => now, capacity: 100 });

  it('ranks running > waiting > free slot > full', () => {
    const candidates = [
      withLora('full', ['x', 'y'], []),
      withLora('free', ['x'], []),
      withLora('waiting', ['x', 'y'], ['a']),
      withLora('running', ['a', 'x'], []),
    ];
    const scores = scorer().score(makeRequest({ adapter: 'a' }), candidates);
    expect(scores).toEqual([0.2, 0.6, 0.8, 1]);
  });

  it('prefers a registered adapter among equals, and a full replica with fewer competitors', () => {
    const scores = scorer().score(makeRequest({ adapter: 'a' }), [
      withLora('free', [], []),
      withLora('free-registered', [], [], 2, ['a']),
      withLora('full-of-4', ['w', 'x'], ['y', 'z']),
      withLora('full-of-2', ['w', 'x'], []),
    ]);
    expect(scores[1]).toBeGreaterThan(scores[0]!);
    expect(scores[3]).toBeGreaterThan(scores[2]!);
    expect(scores[2]).toBeCloseTo(0.1, 10);
  });

  it('counts where the router sent the adapter recently as running (scrape lag), and forgets it after recentMs', () => {
    const plugin = scorer();
    const candidates = [withLora('r0', [], []), withLora('r1', [], [])];
    now = 1_000;
    plugin.recordServed?.(makeRequest({ adapter: 'a' }), 'r1');
    expect(plugin.score(makeRequest({ adapter: 'a' }), candidates)).toEqual([0.6, 1]);
    now = 1_600;
    expect(plugin.score(makeRequest({ adapter: 'a' }), candidates)).toEqual([0.6, 0.6]);
  });

  it('is neutral for requests without an adapter and 0.5 for replicas without LoRA metrics', () => {
    const candidates = [withLora('a', ['x'], []), makeBackend('plain'), makeBackend('hosted', { metrics: undefined })];
    expect(scorer().score(makeRequest(), candidates)).toEqual([1, 1, 1]);
    expect(scorer().score(makeRequest({ adapter: 'x' }), candidates)).toEqual([1, 0.5, 0.5]);
  });
});

describe('vllm:lora_requests_info parsing', () => {
  it('takes the newest series (vLLM keeps old label sets with older timestamps)', () => {
    const page = [
      '# HELP vllm:lora_requests_info Running stats on lora requests.',
      '# TYPE vllm:lora_requests_info gauge',
      'vllm:lora_requests_info{max_lora="4",running_lora_adapters="old",waiting_lora_adapters=""} 1.7e+09',
      'vllm:lora_requests_info{max_lora="4",running_lora_adapters="sql,chat",waiting_lora_adapters="law"} 1.8e+09',
      'vllm:lora_requests_info{max_lora="4",running_lora_adapters="older",waiting_lora_adapters=""} 1.6e+09',
    ].join('\n');
    expect(parseLoraRequestsInfo(page)).toEqual({ running: ['sql', 'chat'], waiting: ['law'], maxLoras: 4 });
    expect(parseLoraRequestsInfo('vllm:num_requests_running{engine="0"} 1')).toBeUndefined();
  });

  it('rides along in EndpointMetrics from a full vLLM page', () => {
    const page = [
      'vllm:num_requests_running{engine="0",model_name="m"} 2',
      'vllm:num_requests_waiting{engine="0",model_name="m"} 0',
      'vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.25',
      'vllm:lora_requests_info{max_lora="1",running_lora_adapters="sql",waiting_lora_adapters=""} 1.8e+09',
    ].join('\n');
    expect(parseVllmMetrics(page, 'm', 0).lora).toEqual({ running: ['sql'], waiting: [], maxLoras: 1 });
  });
});
