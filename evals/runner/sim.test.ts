// The pipeline against Switchyard's GPU-free vLLM simulator (a real peer behind the same HTTP boundary as vLLM):
// an echo replica as the target, and a scripted replica as a judge that always answers "A" — the swap logic must
// turn all of its verdicts into ties with a 100% flip rate.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimReplica } from '../../models/sim/index.ts';
import type { SimReplica } from '../../models/sim/index.ts';
import { buildSuite } from '../dataset/load.ts';
import { EvalCaseSchema } from '../dataset/schema.ts';
import { HashedBagOfWordsEmbedder } from '../embedders/hashed.ts';
import { LlmJudge } from '../judge/judge.ts';
import { MemoryResponseCache } from './cache.ts';
import { OpenAIChatClient } from './openai-client.ts';
import { runSuite } from './run.ts';

let target: SimReplica;
let judge: SimReplica;
let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'switchyard-evals-sim-'));
  target = await startSimReplica({ model: 'llama-3.1-8b', gpu: 'h100', speed: 100, responseMode: 'echo' });
  judge = await startSimReplica({
    model: 'llama-3.1-8b',
    gpu: 'h100',
    speed: 100,
    servedModelName: 'judge',
    responseMode: 'script',
    scriptedText: '{"reasoning": "The first answer is better.", "winner": "A"}',
  });
});
afterAll(async () => {
  await Promise.all([target.close(), judge.close()]);
  await rm(directory, { recursive: true, force: true });
});

describe('eval run against the simulator', () => {
  it('echo target + always-"A" judge: deterministic checks pass, pairwise verdicts become ties (flip rate 100%)', async () => {
    const cases = [
      {
        id: 'echo-1',
        input: { prompt: 'The capital of France is Paris.' },
        reference: 'Paris is the capital of France.',
      },
      {
        id: 'echo-2',
        input: { prompt: 'At sea level, water starts to boil when it is heated to one hundred degrees.' },
        reference: 'At sea level water boils at 100 °C.',
      },
    ].map((raw) =>
      EvalCaseSchema.parse({
        ...raw,
        assertions: [
          { type: 'starts-with', value: raw.input.prompt.slice(0, 12) },
          { type: 'language', value: 'en' },
          { type: 'pairwise' },
        ],
      }),
    );
    const suite = buildSuite('sim', 'inline', 'inline', cases, {
      assertions: [],
      request: { temperature: 0, max_tokens: 64 },
    });
    const cache = new MemoryResponseCache();
    const targetClient = new OpenAIChatClient({ baseURL: `${target.url}/v1`, cache, maxRetries: 0 });
    const judgeClient = new OpenAIChatClient({ baseURL: `${judge.url}/v1`, cache, maxRetries: 0 });
    const report = await runSuite({
      suite,
      target: { client: targetClient, model: 'llama-3.1-8b', label: target.url },
      judge: new LlmJudge({ client: judgeClient, model: 'judge', responseFormat: 'none' }),
      embedder: new HashedBagOfWordsEmbedder(),
      embedderFallback: true,
      concurrency: 2,
    });
    expect(report.summary.errors).toBe(0);
    expect(report.results.map((result) => result.output)).toEqual(
      cases.map((c) => ('prompt' in c.input ? c.input.prompt : '')),
    );
    const passRate = (id: string) => report.summary.metrics.find((metric) => metric.id === id)?.passRate;
    expect(passRate('starts-with')).toBe(1);
    expect(passRate('language')).toBe(1);
    expect(report.summary.judge).toEqual({ pairwiseComparisons: 2, flips: 2, flipRate: 1, firstPositionRate: 1 });
    expect(
      report.results.flatMap((result) => result.metrics.filter((m) => m.id === 'pairwise').map((m) => m.score)),
    ).toEqual([0.5, 0.5]);
    expect(targetClient.calls).toBe(2);
    expect(judgeClient.calls).toBe(4);
  });
});
