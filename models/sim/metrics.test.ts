// /metrics carries vLLM's names and labels, and its counters match what was served.
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { type SimReplica, startSimReplica } from './index.ts';
import { oneTwoFiveBuckets } from './metrics.ts';
import { pseudoText } from './tokenizer.ts';

const replicas: SimReplica[] = [];
afterEach(async () => {
  await Promise.all(replicas.splice(0).map((replica) => replica.close()));
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_]+)="([^"]*)"/g)) labels[pair[1] ?? ''] = pair[2] ?? '';
    samples.push({ name: match[1] ?? '', labels, value: Number(match[3]) });
  }
  return samples;
}

async function scrape(replica: SimReplica): Promise<Sample[]> {
  const response = await fetch(`${replica.url}/metrics`);
  expect(response.headers.get('content-type')).toMatch(/text\/plain/);
  return parseExposition(await response.text());
}

const total = (samples: Sample[], name: string): number =>
  samples.filter((sample) => sample.name === name).reduce((sum, sample) => sum + sample.value, 0);
const names = (samples: Sample[]): Set<string> => new Set(samples.map((sample) => sample.name));

describe('metrics', () => {
  it('current generation: vLLM names with model_name labels, counters equal to what was served', async () => {
    const replica = await startSimReplica({
      model: 'llama-3.1-8b',
      gpu: 'h100',
      speed: 200,
      servedModelName: 'chat-8b',
    });
    replicas.push(replica);
    const client = new OpenAI({ baseURL: `${replica.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const system = pseudoText(1, 600);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        client.chat.completions.create({
          model: 'chat-8b',
          messages: [
            { role: 'system', content: system },
            { role: 'user', content: `question ${index}` },
          ],
          max_tokens: 10 + index,
        }),
      ),
    );
    // One more with the same system prompt, after the others: its prefix is cached.
    results.push(
      await client.chat.completions.create({
        model: 'chat-8b',
        messages: [
          { role: 'system', content: system },
          { role: 'user', content: 'again' },
        ],
        max_tokens: 5,
      }),
    );
    const samples = await scrape(replica);
    const expected = [
      'vllm:num_requests_running',
      'vllm:num_requests_waiting',
      'vllm:kv_cache_usage_perc',
      'vllm:prompt_tokens_total',
      'vllm:generation_tokens_total',
      'vllm:request_success_total',
      'vllm:time_to_first_token_seconds_bucket',
      'vllm:inter_token_latency_seconds_bucket',
      'vllm:e2e_request_latency_seconds_bucket',
      'vllm:prefix_cache_queries_total',
      'vllm:prefix_cache_hits_total',
      'vllm:cache_config_info',
      'vllm:num_preemptions_total',
      'vllm:request_queue_time_seconds_count',
    ];
    for (const name of expected) expect(names(samples), name).toContain(name);
    expect(names(samples)).not.toContain('vllm:gpu_cache_usage_perc');
    for (const sample of samples.filter((candidate) => candidate.name !== 'vllm:cache_config_info')) {
      expect(sample.labels['model_name'], sample.name).toBe('chat-8b');
    }
    const promptTokens = results.reduce((sum, result) => sum + (result.usage?.prompt_tokens ?? 0), 0);
    const completionTokens = results.reduce((sum, result) => sum + (result.usage?.completion_tokens ?? 0), 0);
    expect(total(samples, 'vllm:prompt_tokens_total')).toBe(promptTokens);
    expect(total(samples, 'vllm:generation_tokens_total')).toBe(completionTokens);
    expect(total(samples, 'vllm:request_success_total')).toBe(7);
    expect(total(samples, 'vllm:time_to_first_token_seconds_count')).toBe(7);
    expect(total(samples, 'vllm:inter_token_latency_seconds_count')).toBe(completionTokens - 7);
    expect(total(samples, 'vllm:prefix_cache_hits_total')).toBeGreaterThanOrEqual(576);
    expect(total(samples, 'vllm:prefix_cache_queries_total')).toBe(promptTokens);
    expect(total(samples, 'vllm:num_requests_running')).toBe(0);
    const info = samples.find((sample) => sample.name === 'vllm:cache_config_info');
    expect(info?.labels['block_size']).toBe('16');
    expect(Number(info?.labels['num_gpu_blocks'])).toBe(replica.totalBlocks);
    const stats = await replica.stats();
    expect(stats.generationTokens).toBe(completionTokens);
  });

  it('legacy generation: gpu_cache_usage_perc, gpu_prefix_cache_* and time_per_output_token_seconds', async () => {
    const replica = await startSimReplica({
      model: 'mistral-7b',
      gpu: 'a100-80gb',
      speed: 200,
      metricsGeneration: 'legacy',
    });
    replicas.push(replica);
    const response = await fetch(`${replica.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'hello', max_tokens: 4 }),
    });
    expect(response.status).toBe(200);
    const found = names(await scrape(replica));
    for (const name of [
      'vllm:gpu_cache_usage_perc',
      'vllm:gpu_prefix_cache_queries_total',
      'vllm:gpu_prefix_cache_hits_total',
      'vllm:time_per_output_token_seconds_count',
    ]) {
      expect(found, name).toContain(name);
    }
    for (const name of [
      'vllm:kv_cache_usage_perc',
      'vllm:prefix_cache_queries_total',
      'vllm:inter_token_latency_seconds_count',
    ]) {
      expect(found, name).not.toContain(name);
    }
  });

  it('KV usage and running gauges reflect load while it lasts', async () => {
    const replica = await startSimReplica({ model: 'llama-3.1-8b', gpu: 'a10g', speed: 20, kvBlocks: 300 });
    replicas.push(replica);
    const requests = Array.from({ length: 6 }, (_, index) =>
      fetch(`${replica.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: pseudoText(50 + index, 1500), max_tokens: 200, ignore_eos: true }),
      }).then((response) => response.text()),
    );
    let peakUsage = 0;
    let peakWaiting = 0;
    for (let attempt = 0; attempt < 200; attempt++) {
      const samples = await scrape(replica);
      peakUsage = Math.max(peakUsage, total(samples, 'vllm:kv_cache_usage_perc'));
      peakWaiting = Math.max(peakWaiting, total(samples, 'vllm:num_requests_waiting'));
      if (peakUsage > 0.6 && peakWaiting > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await Promise.all(requests);
    expect(peakUsage).toBeGreaterThan(0.6);
    expect(peakWaiting).toBeGreaterThan(0);
  });

  it('a repeated system prompt really gets faster end to end (simulated TTFT from x-sim-timings)', async () => {
    const replica = await startSimReplica({ model: 'llama-3.1-8b', gpu: 'a10g', speed: 100 });
    replicas.push(replica);
    const system = pseudoText(77, 3000);
    const ttftOf = async (question: string): Promise<number> => {
      const response = await fetch(`${replica.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-sim-timings': '1' },
        body: JSON.stringify({
          messages: [
            { role: 'system', content: system },
            { role: 'user', content: question },
          ],
          max_tokens: 3,
          stream: true,
        }),
      });
      const match = /^: sim arrival=([\d.]+) t=([\d.]+)$/m.exec(await response.text());
      return Number(match?.[2]) - Number(match?.[1]);
    };
    const cold = await ttftOf('first question');
    const warm = await ttftOf('second question');
    expect(warm).toBeLessThan(cold * 0.3);
    expect(total(await scrape(replica), 'vllm:prefix_cache_hits_total')).toBeGreaterThanOrEqual(2992);
  });

  it('1-2-5 buckets follow vLLM', () => {
    expect(oneTwoFiveBuckets(100)).toEqual([1, 2, 5, 10, 20, 50, 100]);
  });
});
