// Types-only contracts of the eval pipeline. Every swappable part (metric, embedder, search backend, chat client,
// response cache, progress reporter) is one of these; implementations live beside them and each contract has a
// conformance suite (`*.conformance.test.ts`).
import type { ZodType } from 'zod';
import type { EvalCase } from './dataset/schema.ts';

/** The four stages of the pipeline; retrieval measures are registered as their own stage. */
export type Stage = 'deterministic' | 'semantic' | 'judge' | 'retrieval';

/** What every metric returns. `score` is in [0, 1]; `reason` says why in one line a human can act on. */
export interface MetricResult {
  pass: boolean;
  score: number;
  reason: string;
  /** Structured extras for the report (per-claim matches, judge verdicts…). */
  details?: Readonly<Record<string, unknown>>;
}

/** One model answer being evaluated, with what the metric may need around it. */
export interface MetricInput {
  case: EvalCase;
  /** The candidate's answer text. */
  output: string;
  /** 0-based repeat index (for --repeat N). */
  repeat: number;
  /** The answer of the comparison target, when the run has one (pairwise "against: compare-target"). */
  compareOutput?: string;
  /** Document ids the answer was grounded on, when the target reports them (RAG responses). */
  retrievedDocumentIds?: readonly string[];
}

/** Turns texts into vectors; the retrieval embedder is adapted to this, with a documented fallback. */
export interface Embedder {
  /** Identifies the model (goes into reports so scores are comparable only across the same embedder). */
  readonly id: string;
  embed(texts: readonly string[]): Promise<number[][]>;
  /** Frees model sessions, when the embedder holds any. */
  close?(): Promise<void>;
}

/** One chat completion call: the only thing judges and targets need from an OpenAI-compatible endpoint. */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  temperature?: number | undefined;
  max_tokens?: number | undefined;
  seed?: number | undefined;
  response_format?: { type: 'json_object' } | { type: 'json_schema'; json_schema: JsonSchemaFormat };
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface JsonSchemaFormat {
  name: string;
  schema: Record<string, unknown>;
  strict?: boolean;
}

export interface ChatResponse {
  text: string;
  /** True when the text came from the response cache and no model was called. */
  cached: boolean;
  latencyMs: number;
  usage?: { promptTokens: number; completionTokens: number };
}

export interface ChatClient {
  /** `cacheScope` is mixed into the cache key (repeat index, judge prompt hash…). */
  complete(request: ChatRequest, cacheScope: Readonly<Record<string, string | number>>): Promise<ChatResponse>;
}

/** Key → JSON value store; keys are already hashes. */
export interface ResponseCache {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
}

/** Retrieval search as the evals see it: chunks with the document they belong to. */
export type SearchMode = 'lexical' | 'lexical-prf' | 'vector' | 'hybrid' | 'rerank';

export interface SearchHit {
  documentId: string;
  chunkId: string;
  score: number;
}

export interface SearchBackend {
  readonly modes: readonly SearchMode[];
  search(query: string, mode: SearchMode, k: number): Promise<SearchHit[]>;
  /** Warnings since the last call (e.g. a mode degraded to another because a model is missing). */
  takeWarnings?(): string[];
}

/** Where the runner reports progress (cli-progress in a terminal, nothing in tests). */
export interface ProgressReporter {
  start(total: number): void;
  tick(info: { caseId: string; cached: boolean }): void;
  stop(): void;
}

/** Services a metric may use; the runner builds them once per run. */
export interface MetricServices {
  embedder: Embedder;
  /** Null when the run has no judge configured: judge metrics then fail with a clear reason. */
  judge: JudgeService | null;
}

/**
 * A metric: parameters validated by a zod schema at suite load time, then `evaluate` per answer. Must return a
 * score in [0,1], never throw for any answer text (the registry still guards it), and be deterministic given its
 * services. Registered once in metrics/registry.ts.
 */
export interface EvalMetric<Params> {
  readonly name: string;
  readonly stage: Stage;
  readonly description: string;
  readonly params: ZodType<Params>;
  evaluate(input: MetricInput, params: Params, services: MetricServices): Promise<MetricResult> | MetricResult;
}

export type PairwiseWinner = 'A' | 'B' | 'tie';

/** One judged comparison in one order; `A` is whichever answer was shown first. */
export interface PairwiseVerdict {
  winner: PairwiseWinner;
  reasoning: string;
}

/** Both orders of one comparison, folded into a verdict for the candidate. */
export interface PairwiseOutcome {
  /** candidate wins, other wins, or tie (also when the two orders disagree). */
  result: 'candidate' | 'other' | 'tie';
  /** The two orders disagreed about the winner (a position-bias flip). */
  flipped: boolean;
  candidateFirst: PairwiseVerdict;
  candidateSecond: PairwiseVerdict;
  cached: boolean;
}

export interface RubricCriterion {
  name: string;
  description: string;
}

export interface RubricOutcome {
  reasoning: string;
  /** Per criterion, 1..5 as the judge gave it. */
  scores: Record<string, number>;
  cached: boolean;
}

export interface JudgeService {
  readonly model: string;
  /** Content hashes of the judge prompts in use (cache keys and reports). */
  readonly promptVersions: Readonly<Record<string, string>>;
  pairwise(
    request: { question: string; candidate: string; other: string; criteria: string },
    repeat: number,
  ): Promise<PairwiseOutcome>;
  rubric(
    request: { question: string; answer: string; reference?: string; criteria: readonly RubricCriterion[] },
    repeat: number,
  ): Promise<RubricOutcome>;
}
