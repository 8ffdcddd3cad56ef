// Shared helpers for metric tests: build a case and evaluate one assertion through the registry (so parameter
// validation and result guarding are exercised exactly as in a run).
import type { JudgeService, MetricResult, MetricServices } from '../contracts.ts';
import { EvalCaseSchema, type EvalCase } from '../dataset/schema.ts';
import { HashedBagOfWordsEmbedder } from '../embedders/hashed.ts';
import { prepareAssertion } from './registry.ts';

export function makeCase(partial: Partial<EvalCase> & { prompt?: string } = {}): EvalCase {
  const { prompt, ...rest } = partial;
  return EvalCaseSchema.parse({ id: 'case-1', input: { prompt: prompt ?? 'What is the answer?' }, ...rest });
}

export const testServices = (judge: JudgeService | null = null): MetricServices => ({
  embedder: new HashedBagOfWordsEmbedder(),
  judge,
});

export async function evaluateAssertion(
  assertion: { type: string; [key: string]: unknown },
  output: string,
  evalCase: EvalCase = makeCase(),
  services: MetricServices = testServices(),
): Promise<MetricResult> {
  return prepareAssertion(assertion, 'test').evaluate({ case: evalCase, output, repeat: 0 }, services);
}
