// The LLM judge over any OpenAI-compatible endpoint (the router, with any configured model). Pairwise comparisons
// run in both orders and keep a verdict only when the two orders agree; rubric scoring asks for reasoning first.
import type {
  ChatClient,
  JudgeService,
  PairwiseOutcome,
  PairwiseVerdict,
  PairwiseWinner,
  RubricCriterion,
  RubricOutcome,
} from '../contracts.ts';
import type { JsonSchemaFormat } from '../contracts.ts';
import { PAIRWISE_PROMPT, RUBRIC_PROMPT, formatCriteria, promptVersion, render } from './prompts.ts';
import { completeStructured } from './structured.ts';

export type JudgeResponseFormat = 'json_schema' | 'json_object' | 'none';

export interface LlmJudgeOptions {
  client: ChatClient;
  model: string;
  maxRetries?: number;
  /** How the JSON answer is requested; validation and repair happen in every mode. */
  responseFormat?: JudgeResponseFormat;
  temperature?: number;
}

const PAIRWISE_SCHEMA = {
  type: 'object',
  properties: { reasoning: { type: 'string' }, winner: { enum: ['A', 'B', 'tie'] } },
  required: ['reasoning', 'winner'],
  additionalProperties: false,
} as const;

function rubricSchema(criteria: readonly RubricCriterion[]): Record<string, unknown> {
  const score = { type: 'integer', minimum: 1, maximum: 5 };
  return {
    type: 'object',
    properties: {
      reasoning: { type: 'string' },
      scores: {
        type: 'object',
        properties: Object.fromEntries(criteria.map((criterion) => [criterion.name, score])),
        required: criteria.map((criterion) => criterion.name),
      },
    },
    required: ['reasoning', 'scores'],
  };
}

/** "a" / "Answer A" / "TIE" → the enum; anything else is left for the schema to reject. */
function coercePairwise(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  if (typeof record['winner'] !== 'string') return value;
  const winner = record['winner']
    .trim()
    .toLowerCase()
    .replace(/^answer\s+/, '');
  const mapped = winner === 'a' ? 'A' : winner === 'b' ? 'B' : winner === 'tie' ? 'tie' : record['winner'];
  return mapped === record['winner'] ? value : { ...record, winner: mapped };
}

/** Numeric strings and whole floats become integers ("4" → 4, 4.0 → 4). */
function coerceRubric(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  const scores = record['scores'];
  if (scores === null || typeof scores !== 'object') return value;
  const fixed = Object.fromEntries(
    Object.entries(scores as Record<string, unknown>).map(([key, score]) => {
      const number = typeof score === 'string' && /^\s*\d+(\.0+)?\s*$/.test(score) ? Number(score) : score;
      return [key, number];
    }),
  );
  return { ...record, scores: fixed };
}

export class LlmJudge implements JudgeService {
  readonly model: string;
  readonly promptVersions: Readonly<Record<string, string>>;
  private readonly maxRetries: number;
  private readonly responseFormat: JudgeResponseFormat;
  private readonly temperature: number;

  constructor(private readonly options: LlmJudgeOptions) {
    this.model = options.model;
    this.maxRetries = options.maxRetries ?? 2;
    this.responseFormat = options.responseFormat ?? 'json_schema';
    this.temperature = options.temperature ?? 0;
    this.promptVersions = { pairwise: promptVersion(PAIRWISE_PROMPT), rubric: promptVersion(RUBRIC_PROMPT) };
  }

  private format(name: string, schema: Record<string, unknown>) {
    if (this.responseFormat === 'none') return {};
    if (this.responseFormat === 'json_object') return { response_format: { type: 'json_object' as const } };
    const jsonSchema: JsonSchemaFormat = { name, schema };
    return { response_format: { type: 'json_schema' as const, json_schema: jsonSchema } };
  }

  private async judgeOrder(
    request: { question: string; criteria: string },
    answerA: string,
    answerB: string,
    order: 'candidate-first' | 'candidate-second',
    repeat: number,
  ): Promise<{ verdict: PairwiseVerdict; cached: boolean }> {
    const schema = PAIRWISE_SCHEMA as unknown as Record<string, unknown>;
    const outcome = await completeStructured<{ reasoning: string; winner: PairwiseWinner }>({
      client: this.options.client,
      request: {
        model: this.model,
        temperature: this.temperature,
        messages: render(PAIRWISE_PROMPT, { ...request, answerA, answerB }),
        ...this.format('pairwise_verdict', schema),
      },
      schema,
      coerce: coercePairwise,
      maxRetries: this.maxRetries,
      scope: { repeat, judgeModel: this.model, judgePrompt: this.promptVersions['pairwise'] ?? '', order },
    });
    return { verdict: { winner: outcome.value.winner, reasoning: outcome.value.reasoning }, cached: outcome.cached };
  }

  async pairwise(
    request: { question: string; candidate: string; other: string; criteria: string },
    repeat: number,
  ): Promise<PairwiseOutcome> {
    const shared = { question: request.question, criteria: request.criteria };
    // allSettled: both orders finish (no judge call left in flight) before a failure is reported.
    const [first, second] = await Promise.allSettled([
      this.judgeOrder(shared, request.candidate, request.other, 'candidate-first', repeat),
      this.judgeOrder(shared, request.other, request.candidate, 'candidate-second', repeat),
    ]);
    if (first.status === 'rejected') throw first.reason;
    if (second.status === 'rejected') throw second.reason;
    return foldPairwise(first.value.verdict, second.value.verdict, first.value.cached && second.value.cached);
  }

  async rubric(
    request: { question: string; answer: string; reference?: string; criteria: readonly RubricCriterion[] },
    repeat: number,
  ): Promise<RubricOutcome> {
    const schema = rubricSchema(request.criteria);
    const reference = request.reference === undefined ? '' : `Reference answer:\n${request.reference}\n\n`;
    const outcome = await completeStructured<{ reasoning: string; scores: Record<string, number> }>({
      client: this.options.client,
      request: {
        model: this.model,
        temperature: this.temperature,
        messages: render(RUBRIC_PROMPT, {
          question: request.question,
          answer: request.answer,
          reference,
          criteria: formatCriteria(request.criteria),
        }),
        ...this.format('rubric_scores', schema),
      },
      schema,
      coerce: coerceRubric,
      maxRetries: this.maxRetries,
      scope: { repeat, judgeModel: this.model, judgePrompt: this.promptVersions['rubric'] ?? '' },
    });
    return { reasoning: outcome.value.reasoning, scores: outcome.value.scores, cached: outcome.cached };
  }
}

/**
 * Folds the two orders into one outcome. In `candidateFirst` the candidate is A; in `candidateSecond` it is B.
 * The verdict stands only when both orders name the same answer (or both say tie); any disagreement is a flip and
 * the outcome is a tie.
 */
export function foldPairwise(
  candidateFirst: PairwiseVerdict,
  candidateSecond: PairwiseVerdict,
  cached: boolean,
): PairwiseOutcome {
  const first = candidateFirst.winner === 'A' ? 'candidate' : candidateFirst.winner === 'B' ? 'other' : 'tie';
  const second = candidateSecond.winner === 'B' ? 'candidate' : candidateSecond.winner === 'A' ? 'other' : 'tie';
  const flipped = first !== second;
  return { result: flipped ? 'tie' : first, flipped, candidateFirst, candidateSecond, cached };
}
