// EvalMetric conformance: every metric in the registry (the sample table below must name each one, or this file
// does not compile) accepts its sample parameters, rejects unknown ones, returns {pass, score ∈ [0,1], reason} for
// awkward outputs (empty, huge, non-Latin, JSON, prose), never throws, and is deterministic.
import { describe, expect, it } from 'vitest';
import type { JudgeService, MetricServices } from '../contracts.ts';
import type { EvalCase } from '../dataset/schema.ts';
import { METRICS, prepareAssertion, type MetricName } from './registry.ts';
import { makeCase, testServices } from './testing.ts';

const richCase: EvalCase = makeCase({
  prompt: 'Where is the Eiffel Tower?',
  expected: 'Paris',
  reference: 'The Eiffel Tower is in Paris, France. It was finished in 1889.',
  context: ['The Eiffel Tower stands in Paris.', 'Gustave Eiffel built it for the 1889 World Fair.'],
  relevantDocuments: { d1: 2, d2: 0 },
});

const SAMPLE_PARAMS: { [K in MetricName]: Record<string, unknown> } = {
  equals: {},
  contains: { values: ['Paris', 'France'] },
  'not-contains': { values: ['sorry'] },
  'starts-with': { value: 'The' },
  regex: { pattern: '\\d{4}' },
  'not-regex': { pattern: 'TODO' },
  'is-json': {},
  'json-schema': { schema: { type: 'object', required: ['city'] } },
  'required-fields': { fields: ['city'] },
  'token-length': { min: 1, max: 50 },
  language: { value: 'en' },
  'embedding-similarity': {},
  'claim-precision': {},
  'claim-recall': {},
  'rouge-l': {},
  'entity-overlap': {},
  faithfulness: {},
  pairwise: {},
  rubric: {},
  retrieval: { measure: 'ndcg', k: 3 },
};

/** A deterministic in-process judge for the contract checks (the real judge is tested over HTTP elsewhere). */
const stubJudge: JudgeService = {
  model: 'stub',
  promptVersions: { pairwise: 'pairwise@test', rubric: 'rubric@test' },
  pairwise: (request) =>
    Promise.resolve({
      result: request.candidate.length >= request.other.length ? 'candidate' : 'other',
      flipped: false,
      candidateFirst: { winner: 'A', reasoning: 'stub' },
      candidateSecond: { winner: 'B', reasoning: 'stub' },
      cached: false,
    }),
  rubric: (request) =>
    Promise.resolve({
      reasoning: 'stub',
      scores: Object.fromEntries(request.criteria.map((criterion, index) => [criterion.name, 1 + (index % 5)])),
      cached: false,
    }),
};

const OUTPUTS = [
  'The Eiffel Tower is in Paris, France [d1]. It was finished in 1889.',
  '',
  '{"city": "Paris"}',
  'エッフェル塔はパリにあります。',
  'word '.repeat(1_500),
  '```json\n{"city": 1}\n```',
];

describe.each(Object.keys(METRICS) as MetricName[])('metric %s', (name) => {
  const services: MetricServices = testServices(stubJudge);
  const assertion = () => prepareAssertion({ type: name, ...SAMPLE_PARAMS[name] }, `conformance.${name}`);

  it('is registered under its own name and stage', () => {
    expect(METRICS[name].name).toBe(name);
    expect(assertion()).toMatchObject({ id: name, type: name, stage: METRICS[name].stage, gate: true });
    expect(METRICS[name].description.length).toBeGreaterThan(10);
  });

  it('rejects unknown parameters at load time', () => {
    expect(() => prepareAssertion({ type: name, ...SAMPLE_PARAMS[name], notAParameter: 1 }, 'x')).toThrow(
      /Invalid parameters/,
    );
  });

  it('returns {pass, score ∈ [0,1], reason} for awkward outputs, deterministically', async () => {
    const prepared = assertion();
    for (const output of OUTPUTS) {
      const input = { case: richCase, output, repeat: 0 };
      const result = await prepared.evaluate(input, services);
      expect(typeof result.pass).toBe('boolean');
      expect(result.score).toBeGreaterThanOrEqual(0);
      expect(result.score).toBeLessThanOrEqual(1);
      expect(result.reason.length).toBeGreaterThan(0);
      const again = await prepared.evaluate(input, services);
      expect({ pass: again.pass, score: again.score, reason: again.reason }).toEqual({
        pass: result.pass,
        score: result.score,
        reason: result.reason,
      });
    }
  });

  it('fails with a reason (not an exception) when the case lacks what it needs', async () => {
    const bare = makeCase({ prompt: 'hi' });
    const result = await assertion().evaluate({ case: bare, output: 'hello', repeat: 0 }, testServices(null));
    expect(result.score).toBeGreaterThanOrEqual(0);
    expect(result.reason.length).toBeGreaterThan(0);
  });
});
