// Stage 3: LLM-as-judge metrics. They only describe what to ask; the JudgeService (judge/judge.ts) does the calls,
// both orders, validation, repair and retries.
import { z } from 'zod';
import type { EvalMetric, MetricInput, MetricServices } from '../contracts.ts';
import { questionText } from '../dataset/render.ts';
import { DEFAULT_RUBRIC } from '../judge/prompts.ts';

function requireJudge(services: MetricServices) {
  if (!services.judge) throw new Error('no judge configured for this run (pass --judge-model)');
  return services.judge;
}

function otherAnswer(input: MetricInput, against: 'reference' | 'expected' | 'compare-target'): string {
  const other =
    against === 'compare-target'
      ? input.compareOutput
      : against === 'expected'
        ? input.case.expected
        : (input.case.reference ?? input.case.expected);
  if (other === undefined) {
    throw new Error(
      against === 'compare-target'
        ? 'pairwise against compare-target needs --compare-model (or --compare-target)'
        : 'the case has no reference answer to compare against',
    );
  }
  return other;
}

export const pairwiseMetric: EvalMetric<{
  against: 'reference' | 'expected' | 'compare-target';
  criteria: string;
  passOn: 'win' | 'win-or-tie';
}> = {
  name: 'pairwise',
  stage: 'judge',
  description:
    'judge compares the output with the reference (or the compare target) in both orders; verdict kept only ' +
    'when both orders agree, else tie. score: win 1, tie 0.5, loss 0',
  params: z.strictObject({
    against: z.enum(['reference', 'expected', 'compare-target']).default('reference'),
    criteria: z.string().min(1).default('correctness, completeness and helpfulness for the user'),
    passOn: z.enum(['win', 'win-or-tie']).default('win-or-tie'),
  }),
  async evaluate(input, params, services) {
    const judge = requireJudge(services);
    const outcome = await judge.pairwise(
      {
        question: questionText(input.case),
        candidate: input.output,
        other: otherAnswer(input, params.against),
        criteria: params.criteria,
      },
      input.repeat,
    );
    const score = outcome.result === 'candidate' ? 1 : outcome.result === 'tie' ? 0.5 : 0;
    const pass = outcome.result === 'candidate' || (params.passOn === 'win-or-tie' && outcome.result === 'tie');
    const verdict =
      outcome.result === 'candidate' ? 'output wins' : outcome.result === 'other' ? `${params.against} wins` : 'tie';
    return {
      pass,
      score,
      reason: `${verdict}${outcome.flipped ? ' (orders disagreed: position flip)' : ''}; ${outcome.candidateFirst.reasoning.slice(0, 160)}`,
      details: {
        flipped: outcome.flipped,
        result: outcome.result,
        candidateFirst: outcome.candidateFirst,
        candidateSecond: outcome.candidateSecond,
        judgeModel: judge.model,
        judgePrompt: judge.promptVersions['pairwise'],
      },
    };
  },
};

const CriterionSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_-]*$/i, 'criterion names are identifiers'),
  description: z.string().min(1),
});

export const rubricMetric: EvalMetric<{
  criteria: Array<{ name: string; description: string }>;
  threshold: number;
  withReference: boolean;
}> = {
  name: 'rubric',
  stage: 'judge',
  description: 'judge scores each criterion 1-5 after writing its reasoning; score = mean of (s-1)/4 over criteria',
  params: z.strictObject({
    criteria: z
      .array(CriterionSchema)
      .min(1)
      .default(DEFAULT_RUBRIC.map((criterion) => ({ ...criterion }))),
    threshold: z.number().min(0).max(1).default(0.6),
    withReference: z.boolean().default(true),
  }),
  async evaluate(input, params, services) {
    const judge = requireJudge(services);
    const reference = params.withReference ? (input.case.reference ?? input.case.expected) : undefined;
    const outcome = await judge.rubric(
      {
        question: questionText(input.case),
        answer: input.output,
        criteria: params.criteria,
        ...(reference === undefined ? {} : { reference }),
      },
      input.repeat,
    );
    const normalized = params.criteria.map((criterion) => ((outcome.scores[criterion.name] ?? 1) - 1) / 4);
    const score = normalized.reduce((sum, value) => sum + value, 0) / normalized.length;
    const perCriterion = params.criteria.map((criterion) => `${criterion.name} ${outcome.scores[criterion.name]}/5`);
    return {
      pass: score >= params.threshold,
      score,
      reason: `${perCriterion.join(', ')}; ${outcome.reasoning.slice(0, 160)}`,
      details: {
        scores: outcome.scores,
        reasoning: outcome.reasoning,
        judgeModel: judge.model,
        judgePrompt: judge.promptVersions['rubric'],
      },
    };
  },
};
