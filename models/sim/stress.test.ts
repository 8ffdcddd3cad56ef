// Robustness under pressure: a tiny KV cache, many concurrent streams, client aborts mid-way. Every request that was
// not aborted gets exactly its tokens, the server stays up, and the cache drains to empty.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimReplica, startSimReplica } from './index.ts';
import { createRandom, pseudoText } from './tokenizer.ts';

let replica: SimReplica;
beforeAll(async () => {
  replica = await startSimReplica({ model: 'llama-3.1-8b', gpu: 'l4', speed: 200, kvBlocks: 120, maxNumSeqs: 16 });
});
afterAll(async () => {
  await replica.close();
});

describe('stress', () => {
  it('preemption, queueing and aborts under a 1,920-token cache', async () => {
    const random = createRandom(5);
    const jobs = Array.from({ length: 40 }, (_, index) => {
      const promptTokens = 20 + Math.floor(random() * 300);
      const maxTokens = 10 + Math.floor(random() * 200);
      const abortAfterMs = index % 4 === 0 ? 5 + Math.floor(random() * 40) : undefined;
      return { index, promptTokens, maxTokens, abortAfterMs };
    });
    const results = await Promise.all(
      jobs.map(async (job) => {
        const controller = new AbortController();
        if (job.abortAfterMs !== undefined) setTimeout(() => controller.abort(), job.abortAfterMs);
        try {
          const response = await fetch(`${replica.url}/v1/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              prompt: pseudoText(job.index, job.promptTokens),
              max_tokens: job.maxTokens,
              ignore_eos: true,
              stream: true,
              stream_options: { include_usage: true },
            }),
            signal: controller.signal,
          });
          const text = await response.text();
          const usage = /"completion_tokens":(\d+)/.exec(text);
          return {
            job,
            status: response.status,
            completion: usage ? Number(usage[1]) : undefined,
            done: text.includes('data: [DONE]'),
          };
        } catch {
          return { job, status: 0, completion: undefined, done: false };
        }
      }),
    );
    for (const result of results.filter((candidate) => candidate.job.abortAfterMs === undefined)) {
      expect(result.status).toBe(200);
      expect(result.done).toBe(true);
      expect(result.completion).toBe(result.job.maxTokens);
    }
    let stats = await replica.stats();
    for (let attempt = 0; attempt < 100 && stats.running + stats.waiting > 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      stats = await replica.stats();
    }
    expect(stats.running + stats.waiting).toBe(0);
    expect(stats.usedBlocks).toBe(0);
    expect(stats.preemptions).toBeGreaterThan(0);
    // Aborts that land before the server submits never reach the engine; everything else is accounted for.
    expect(stats.requestsFinished).toBeGreaterThanOrEqual(30);
    expect(stats.requestsFinished + stats.requestsAborted).toBeLessThanOrEqual(40);
    expect((await fetch(`${replica.url}/health`)).status).toBe(200);
  });
});
