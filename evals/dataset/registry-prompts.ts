// Evals over the router's prompt registry (router/chain/prompt-store.ts: the chain's shipped prompts plus prompt
// folders, with the rollout file's active versions). A suite or `eval run --prompt name@version` names one prompt
// version: its system messages go before every case's messages, and its file's `eval_baseline` becomes a gate check
// (the suite's pass rate on that metric must not fall more than the tolerance under the accepted score). Case inputs
// `{promptRef: {name, version?}}` resolve through the same registry.
import { InvalidRequestError } from '../../core/errors.ts';
import type { PromptFile } from '../../router/governance/prompts/registry.ts';
import { PromptStore } from '../../router/chain/prompt-store.ts';
import type { ChatMessage } from '../contracts.ts';
import type { GateCheck } from '../gate/baseline.ts';
import type { RunReport } from '../report/types.ts';
import { fillTemplate, type PromptResolver } from './render.ts';

export const PROMPT_REFERENCE = /^[\w.-]+(@[\w.-]+)?$/;

export interface RegistryOptions {
  dirs: readonly string[];
  rolloutFile: string;
}

export function openPromptStore(options: RegistryOptions): PromptStore {
  return new PromptStore({ dirs: options.dirs, rolloutFile: options.rolloutFile, watch: false });
}

/** `name@version` (or `name`: the active version of the rollout file) → the prompt file. */
export function resolvePromptReference(store: PromptStore, reference: string): PromptFile {
  if (!PROMPT_REFERENCE.test(reference)) {
    throw new InvalidRequestError(`prompt must be name or name@version, got "${reference}"`, { param: 'prompt' });
  }
  const [name, version] = reference.split('@') as [string, string | undefined];
  return store.resolve(name, version).prompt;
}

export function registryPromptResolver(store: PromptStore): PromptResolver {
  return {
    resolve(name, version) {
      const prompt = store.resolve(name, version).prompt;
      const system = prompt.template
        .filter((message) => message.role === 'system' || message.role === 'developer')
        .map((message) => message.content);
      const user = prompt.template.filter((message) => message.role === 'user').map((message) => message.content);
      return Promise.resolve({
        ...(system.length > 0 ? { system: system.join('\n\n') } : {}),
        // A system-only prompt is evaluated with the case's `question` variable as the user turn.
        template: user.length > 0 ? user.join('\n\n') : '{{question}}',
      });
    },
  };
}

/** The suite prompt's system messages, filled from the case's variables (then the suite's default variables). */
export function promptPrefix(
  prompt: PromptFile,
  variables: Readonly<Record<string, string>>,
  caseId: string,
): ChatMessage[] {
  return prompt.template
    .filter((message) => message.role === 'system' || message.role === 'developer')
    .map((message) => ({ role: 'system', content: fillTemplate(message.content, variables, caseId) }));
}

/**
 * The gate check from the prompt file's `eval_baseline`: metric `pass_rate` is the suite's case pass rate, any other
 * name is that metric's pass rate in the report (a metric that did not run fails the check).
 */
export function baselineCheck(
  prompt: PromptFile,
  report: RunReport,
  tolerance: number,
): { check: GateCheck; warning?: string } | undefined {
  const baseline = prompt.eval_baseline;
  if (baseline === undefined) return undefined;
  const candidate =
    baseline.metric === 'pass_rate'
      ? report.summary.casePassRate
      : (report.summary.metrics.find((metric) => metric.id === baseline.metric)?.passRate ?? null);
  const threshold = baseline.score - tolerance;
  const check: GateCheck = {
    metricId: `${prompt.name}@${prompt.version} eval_baseline ${baseline.metric}`,
    measure: 'passRate',
    candidate,
    baseline: baseline.score,
    threshold,
    pass: candidate !== null && candidate + 1e-9 >= threshold,
  };
  const suiteFile = report.suite.path ?? '';
  const warning = suiteFile.endsWith(baseline.dataset)
    ? undefined
    : `${prompt.name}@${prompt.version}'s eval_baseline was measured on ${baseline.dataset}, this run is ${suiteFile || 'another suite'}`;
  return warning === undefined ? { check } : { check, warning };
}
