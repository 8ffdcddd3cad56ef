// `switchyard eval run`: load the suite, call the target (and judge) through the cache, write the JSON + HTML
// reports, sample for human review, and apply the baseline / threshold gate. Returns the process exit code:
// 0 ok, 1 gate failed (with no baseline or pass-rate gate: any gated metric failed its threshold), 2 bad input.
import { describeFlagIssues } from './flags.ts';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { InvalidRequestError } from '../../core/errors.ts';
import type { ProgressReporter, ResponseCache } from '../contracts.ts';
import { loadSuite } from '../dataset/load.ts';
import { selectEmbedder } from '../embedders/select.ts';
import { evaluateGate, readBaseline, type GateResult } from '../gate/baseline.ts';
import {
  baselineCheck,
  openPromptStore,
  promptPrefix,
  registryPromptResolver,
  resolvePromptReference,
} from '../dataset/registry-prompts.ts';
import type { EvalCase } from '../dataset/schema.ts';
import { LlmJudge } from '../judge/judge.ts';
import { renderHtmlReport } from '../report/html.ts';
import { formatGate, formatSummary } from '../report/terminal.ts';
import type { RunReport } from '../report/types.ts';
import { selectForReview, writeReviewFile } from '../review/sample.ts';
import { FileResponseCache } from '../runner/cache.ts';
import { OpenAIChatClient } from '../runner/openai-client.ts';
import { defaultProgress } from '../runner/progress.ts';
import { runSuite, type RunTarget } from '../runner/run.ts';

export const DEFAULT_ROUTER_URL = 'http://127.0.0.1:8080/v1';

const fraction = z.coerce.number().min(0).max(1);

export const RunCommandSchema = z.object({
  suite: z.string().min(1),
  target: z.string().min(1),
  model: z.string().min(1).optional(),
  routerUrl: z.string().url().optional(),
  apiKey: z.string().optional(),
  judgeModel: z.string().min(1).optional(),
  judgeUrl: z.string().url().optional(),
  judgeFormat: z.enum(['json_schema', 'json_object', 'none']).default('json_schema'),
  judgeRetries: z.coerce.number().int().min(0).max(5).default(2),
  compareModel: z.string().min(1).optional(),
  compareTarget: z.string().url().optional(),
  concurrency: z.coerce.number().int().min(1).max(256).default(4),
  repeat: z.coerce.number().int().min(1).max(100).default(1),
  cache: z.boolean().default(true),
  cacheDir: z.string().default('.switchyard/eval-cache'),
  out: z.string().default('eval-results'),
  baseline: z.string().optional(),
  tolerance: fraction.default(0.03),
  gateOn: z.enum(['pass-rate', 'score', 'both']).default('pass-rate'),
  minPassRate: fraction.optional(),
  gateMetrics: z.string().optional(),
  reviewShare: fraction.optional(),
  reviewOut: z.string().optional(),
  seed: z.string().default('switchyard'),
  progress: z.boolean().default(true),
  embedder: z.enum(['auto', 'retrieval', 'hashed']).default('auto'),
  embeddingModel: z.string().min(1).optional(),
  timeoutMs: z.coerce.number().int().positive().default(120_000),
  retries: z.coerce.number().int().min(0).max(10).default(2),
  /** Registry prompt version to evaluate (`name@version`); overrides the suite's `prompt`. */
  prompt: z.string().min(1).optional(),
  promptDir: z.array(z.string()).optional(),
  rolloutFile: z.string().optional(),
  /** A router to tell the eval pass rate of the prompt version (switchyard_prompt_version_eval_pass_rate). */
  pushTo: z.string().url().optional(),
});
export type RunCommandOptions = z.input<typeof RunCommandSchema>;

export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Replaces the terminal progress bar (tests). */
  progress?: ProgressReporter;
  /** Replaces the file cache (tests). */
  cache?: ResponseCache;
}

export const consoleIo: CommandIo = {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
};

/** A router URL (`http://host:port[/v1]`) plus model, or a bare model name served by the default router. */
export function resolveTarget(target: string, model: string | undefined, routerUrl: string | undefined) {
  if (/^https?:\/\//i.test(target)) {
    if (!model) throw new InvalidRequestError('--target is a URL: also pass --model <name>', { param: 'model' });
    return { baseURL: withV1(target), model };
  }
  return { baseURL: withV1(routerUrl ?? process.env['SWITCHYARD_URL'] ?? DEFAULT_ROUTER_URL), model: model ?? target };
}

function withV1(url: string): string {
  const parsed = new URL(url);
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = '/v1';
  return parsed.toString().replace(/\/$/, '');
}

export async function evalRun(raw: RunCommandOptions, io: CommandIo = consoleIo): Promise<number> {
  const parsed = RunCommandSchema.safeParse(raw);
  if (!parsed.success) {
    io.stderr(`eval run: ${describeFlagIssues(parsed.error, raw as unknown as Record<string, unknown>)}`);
    return 2;
  }
  const options = parsed.data;
  try {
    const suite = await loadSuite(options.suite);
    const apiKey = options.apiKey ?? process.env['SWITCHYARD_API_KEY'] ?? process.env['OPENAI_API_KEY'];
    const cache = options.cache ? (io.cache ?? new FileResponseCache(resolve(options.cacheDir))) : null;
    const clientFor = (baseURL: string) =>
      new OpenAIChatClient({
        baseURL,
        cache,
        timeoutMs: options.timeoutMs,
        maxRetries: options.retries,
        ...(apiKey ? { apiKey } : {}),
      });
    const resolved = resolveTarget(options.target, options.model, options.routerUrl);
    const target: RunTarget = { client: clientFor(resolved.baseURL), model: resolved.model, label: resolved.baseURL };
    const compare: RunTarget | undefined = options.compareModel
      ? {
          client: clientFor(options.compareTarget ? withV1(options.compareTarget) : resolved.baseURL),
          model: options.compareModel,
          label: options.compareTarget ?? resolved.baseURL,
        }
      : undefined;
    const judgeClient = options.judgeModel
      ? clientFor(options.judgeUrl ? withV1(options.judgeUrl) : resolved.baseURL)
      : null;
    const judge =
      options.judgeModel && judgeClient
        ? new LlmJudge({
            client: judgeClient,
            model: options.judgeModel,
            maxRetries: options.judgeRetries,
            responseFormat: options.judgeFormat,
          })
        : null;
    if (!judge && suite.cases.some((loaded) => loaded.assertions.some((assertion) => assertion.stage === 'judge'))) {
      io.stderr('eval run: warning: the suite has judge metrics but no --judge-model: they will fail');
    }
    const baseline = options.baseline ? await readBaseline(options.baseline) : null;
    // The prompt is resolved before the embedder loads: a bad --prompt fails at once.
    const promptReference = options.prompt ?? suite.prompt;
    const store =
      promptReference !== undefined || suite.cases.some((loaded) => 'promptRef' in loaded.case.input)
        ? openPromptStore({
            dirs: (options.promptDir ?? []).map((dir) => resolve(dir)),
            rolloutFile: resolve(
              options.rolloutFile ?? process.env['SWITCHYARD_PROMPT_ROLLOUT'] ?? '.switchyard/prompt-rollout.yaml',
            ),
          })
        : undefined;
    const prompt = store && promptReference !== undefined ? resolvePromptReference(store, promptReference) : undefined;
    if (prompt) io.stdout(`prompt: ${prompt.name}@${prompt.version}`);

    const selected = await selectEmbedder(options.embedder, options.embeddingModel);
    if (selected.note) io.stderr(`eval run: note: ${selected.note}`);

    const report = await runSuite({
      suite,
      ...(store ? { promptResolver: registryPromptResolver(store) } : {}),
      ...(prompt
        ? {
            promptPrefix: (evalCase: EvalCase) => {
              const own = 'variables' in evalCase.input ? (evalCase.input.variables ?? {}) : {};
              return promptPrefix(prompt, { ...suite.variables, ...own }, evalCase.id);
            },
          }
        : {}),
      target,
      ...(compare ? { compare } : {}),
      judge,
      embedder: selected.embedder,
      embedderFallback: selected.fallback,
      concurrency: options.concurrency,
      repeat: options.repeat,
      progress: io.progress ?? defaultProgress(options.progress),
    }).finally(() => selected.embedder.close?.());
    if (judgeClient) report.calls.judgeCalls = judgeClient.calls;

    let gate: GateResult | undefined;
    if (baseline || options.minPassRate !== undefined) {
      gate = evaluateGate(report, baseline, {
        tolerance: options.tolerance,
        on: options.gateOn,
        ...(options.minPassRate === undefined ? {} : { minPassRate: options.minPassRate }),
        ...(options.gateMetrics ? { metrics: options.gateMetrics.split(',').map((id) => id.trim()) } : {}),
      });
    }
    // The prompt file's eval_baseline gates too (the score the version was accepted with).
    const accepted = prompt ? baselineCheck(prompt, report, options.tolerance) : undefined;
    if (accepted) {
      gate ??= { pass: true, checks: [], warnings: [] };
      gate.checks.push(accepted.check);
      if (accepted.warning) gate.warnings.push(accepted.warning);
      gate.pass = gate.checks.every((check) => check.pass);
    }
    if (prompt && options.pushTo) {
      const passRate = accepted?.check.candidate ?? report.summary.casePassRate;
      const pushed = await fetch(
        `${options.pushTo.replace(/\/(v1\/?)?$/, '')}/admin/prompts/${encodeURIComponent(prompt.name)}/eval`,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(process.env['SWITCHYARD_ADMIN_TOKEN']
              ? { authorization: `Bearer ${process.env['SWITCHYARD_ADMIN_TOKEN']}` }
              : {}),
          },
          body: JSON.stringify({ version: prompt.version, pass_rate: passRate }),
        },
      );
      if (!pushed.ok)
        io.stderr(`eval run: warning: pushing the pass rate to ${options.pushTo} failed (HTTP ${pushed.status})`);
    }
    await writeReports(report, gate, options.out);
    io.stdout(formatSummary(report));
    io.stdout(`reports: ${join(options.out, 'report.json')}, ${join(options.out, 'report.html')}`);

    if (report.summary.errors === report.summary.units) {
      // Nothing was evaluated: a wrong URL, model or key, not a quality result. Fail loudly, gate or not.
      io.stderr(`eval run: every target call failed (first: ${report.results[0]?.error ?? 'unknown'})`);
      return 2;
    }
    if (options.reviewShare !== undefined || options.reviewOut !== undefined) {
      const reviewPath = options.reviewOut ?? join(options.out, 'review.csv');
      const items = selectForReview(report, { share: options.reviewShare ?? 0.1, seed: options.seed });
      await writeReviewFile(reviewPath, items);
      io.stdout(
        `human review: ${items.length} item(s) (${items.filter((item) => item.flagged).length} flagged) → ${reviewPath}`,
      );
    }
    if (gate) {
      io.stdout(formatGate(gate));
      return gate.pass ? 0 : 1;
    }
    // No baseline or pass-rate gate: every gated metric's own threshold is the gate, as a test runner's assertions are.
    const failed = failedGatedMetrics(report);
    if (failed.length > 0) {
      io.stdout(
        `thresholds: ${failed.length} gated metric(s) failed (${failed.join(', ')}): exit 1; --baseline or --min-pass-rate gate on rates instead`,
      );
      return 1;
    }
    return 0;
  } catch (error) {
    io.stderr(`eval run: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
}

/** `case:metric` for every failed metric that counts for the gate (`gate: false` ones are reported only). */
function failedGatedMetrics(report: RunReport): string[] {
  return report.results.flatMap((result) =>
    result.metrics.filter((metric) => metric.gate && !metric.pass).map((metric) => `${result.caseId}:${metric.id}`),
  );
}

export async function writeReports(
  report: RunReport,
  gate: GateResult | undefined,
  outDirectory: string,
): Promise<void> {
  await mkdir(outDirectory, { recursive: true });
  await writeFile(join(outDirectory, 'report.json'), `${JSON.stringify({ ...report, gate: gate ?? null }, null, 2)}\n`);
  await writeFile(join(outDirectory, 'report.html'), renderHtmlReport(report, gate));
}
