// The runner: every (case, repeat) unit calls the target (through the response cache), then evaluates the case's
// assertions — deterministic, semantic, judge, retrieval — and the results are summarised into one RunReport.
// Units run with bounded concurrency (p-limit); a failing target call or metric is recorded, never thrown.
import { randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import type {
  ChatClient,
  ChatMessage,
  Embedder,
  JudgeService,
  MetricInput,
  MetricServices,
  ProgressReporter,
} from '../contracts.ts';
import type { EvalCase } from '../dataset/schema.ts';
import { questionText, renderInput, type PromptResolver } from '../dataset/render.ts';
import type { LoadedCase, LoadedSuite } from '../dataset/load.ts';
import { MemoizingEmbedder } from '../embedders/hashed.ts';
import { summarize } from '../report/summary.ts';
import type { CaseResult, MetricOutcome, RunReport } from '../report/types.ts';
import { silentProgress } from './progress.ts';

export interface RunTarget {
  client: ChatClient;
  model: string;
  /** Where it lives, for the report (base URL). */
  label: string;
}

export interface RunOptions {
  suite: LoadedSuite;
  target: RunTarget;
  /** A second target whose answers feed `pairwise` assertions with `against: compare-target`. */
  compare?: RunTarget;
  judge: JudgeService | null;
  embedder: Embedder;
  /** True when `embedder` is the hashed bag-of-words fallback (shown in reports). */
  embedderFallback: boolean;
  concurrency?: number;
  repeat?: number;
  progress?: ProgressReporter;
  promptResolver?: PromptResolver;
  /** Messages put before each case's own (the suite's registry prompt, rendered for the case). */
  promptPrefix?: (evalCase: EvalCase) => ChatMessage[];
  now?: () => Date;
  runId?: string;
}

const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

async function evaluateUnit(
  loaded: LoadedCase,
  repeat: number,
  options: RunOptions,
  services: MetricServices,
): Promise<CaseResult> {
  const evalCase = loaded.case;
  const reference = evalCase.reference ?? evalCase.expected;
  const base = {
    caseId: evalCase.id,
    repeat,
    tags: evalCase.tags,
    input: questionText(evalCase),
    ...(reference === undefined ? {} : { reference }),
  };
  let output: string;
  let cached: boolean;
  let latencyMs: number;
  let compareOutput: string | undefined;
  try {
    const messages = [
      ...(options.promptPrefix?.(evalCase) ?? []),
      ...(await renderInput(evalCase, options.promptResolver)),
    ];
    const request = { model: options.target.model, messages, ...options.suite.request };
    const response = await options.target.client.complete(request, { repeat });
    output = response.text;
    cached = response.cached;
    latencyMs = response.latencyMs;
    if (options.compare && loaded.assertions.some((assertion) => assertion.type === 'pairwise')) {
      const compared = await options.compare.client.complete(
        { ...request, model: options.compare.model },
        { repeat, role: 'compare' },
      );
      compareOutput = compared.text;
    }
  } catch (error) {
    const reason = `target error: ${errorMessage(error)}`;
    const metrics: MetricOutcome[] = loaded.assertions.map((assertion) => ({
      id: assertion.id,
      type: assertion.type,
      stage: assertion.stage,
      gate: assertion.gate,
      pass: false,
      score: 0,
      reason,
    }));
    return { ...base, output: '', error: errorMessage(error), cached: false, latencyMs: 0, metrics, passed: false };
  }
  const input: MetricInput = {
    case: evalCase,
    output,
    repeat,
    ...(compareOutput === undefined ? {} : { compareOutput }),
  };
  const metrics = await Promise.all(
    loaded.assertions.map(async (assertion): Promise<MetricOutcome> => {
      const result = await assertion.evaluate(input, services);
      return {
        id: assertion.id,
        type: assertion.type,
        stage: assertion.stage,
        gate: assertion.gate,
        pass: result.pass,
        score: result.score,
        reason: result.reason,
        ...(result.details ? { details: result.details } : {}),
      };
    }),
  );
  return { ...base, output, cached, latencyMs, metrics, passed: metrics.every((metric) => metric.pass) };
}

export async function runSuite(options: RunOptions): Promise<RunReport> {
  const now = options.now ?? (() => new Date());
  const repeat = options.repeat ?? 1;
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(repeat) || repeat < 1) throw new RangeError('repeat must be a positive integer');
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be a positive integer');
  const progress = options.progress ?? silentProgress;
  const services: MetricServices = { embedder: new MemoizingEmbedder(options.embedder), judge: options.judge };
  const startedAt = now();
  const units = options.suite.cases.flatMap((loaded) =>
    Array.from({ length: repeat }, (_unused, index) => ({ loaded, repeat: index })),
  );
  const limit = pLimit(concurrency);
  progress.start(units.length);
  let results: CaseResult[];
  try {
    results = await Promise.all(
      units.map((unit) =>
        limit(async () => {
          const result = await evaluateUnit(unit.loaded, unit.repeat, options, services);
          progress.tick({ caseId: result.caseId, cached: result.cached });
          return result;
        }),
      ),
    );
  } finally {
    progress.stop();
  }
  const targetCacheHits = results.filter((result) => result.cached).length;
  return {
    schemaVersion: 1,
    runId: options.runId ?? randomUUID(),
    startedAt: startedAt.toISOString(),
    finishedAt: now().toISOString(),
    suite: {
      name: options.suite.name,
      path: options.suite.path,
      hash: options.suite.hash,
      cases: options.suite.cases.length,
    },
    target: { label: options.target.label, model: options.target.model },
    compare: options.compare ? { label: options.compare.label, model: options.compare.model } : null,
    judge: options.judge ? { model: options.judge.model, promptVersions: options.judge.promptVersions } : null,
    embedder: { id: options.embedder.id, fallback: options.embedderFallback },
    repeat,
    concurrency,
    calls: {
      targetCalls: results.filter((result) => !result.cached && result.error === undefined).length,
      targetCacheHits,
    },
    results,
    summary: summarize(results),
  };
}
