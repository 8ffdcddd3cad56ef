// Baselines and the CI gate. `baseline save` keeps the per-metric pass rates and mean scores of a run; `run
// --baseline` fails (exit 1) when any gated metric falls below baseline − tolerance. The threshold mode
// (--min-pass-rate) needs no baseline: every gated metric must reach the given pass rate.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { InvalidRequestError } from '../../core/errors.ts';
import type { RunReport } from '../report/types.ts';

export const BaselineSchema = z.object({
  schemaVersion: z.literal(1),
  createdAt: z.string(),
  runId: z.string(),
  suite: z.object({ name: z.string(), hash: z.string() }),
  target: z.object({ label: z.string(), model: z.string() }),
  judge: z.object({ model: z.string(), promptVersions: z.record(z.string(), z.string()) }).nullable(),
  casePassRate: z.number(),
  metrics: z.record(
    z.string(),
    z.object({ passRate: z.number(), meanScore: z.number(), count: z.number(), gate: z.boolean() }),
  ),
});
export type Baseline = z.infer<typeof BaselineSchema>;

export function baselineFromReport(report: RunReport, createdAt: Date = new Date()): Baseline {
  return {
    schemaVersion: 1,
    createdAt: createdAt.toISOString(),
    runId: report.runId,
    suite: { name: report.suite.name, hash: report.suite.hash },
    target: report.target,
    judge: report.judge ? { model: report.judge.model, promptVersions: { ...report.judge.promptVersions } } : null,
    casePassRate: report.summary.casePassRate,
    metrics: Object.fromEntries(
      report.summary.metrics.map((metric) => [
        metric.id,
        { passRate: metric.passRate, meanScore: metric.meanScore, count: metric.count, gate: metric.gate },
      ]),
    ),
  };
}

export async function readBaseline(path: string): Promise<Baseline> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch (error) {
    throw new InvalidRequestError(
      `cannot read baseline ${path}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const parsed = BaselineSchema.safeParse(json);
  if (!parsed.success) {
    throw new InvalidRequestError(`${path} is not a baseline file: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

export type GateOn = 'pass-rate' | 'score' | 'both';

export interface GateOptions {
  /** Allowed drop below the baseline (absolute, on the [0,1] scale). */
  tolerance: number;
  on: GateOn;
  /** Threshold mode: every gated metric's pass rate must reach this. */
  minPassRate?: number;
  /** Restrict the gate to these metric ids (default: every metric with gate ≠ false). */
  metrics?: readonly string[];
}

export interface GateCheck {
  metricId: string;
  measure: 'passRate' | 'meanScore';
  candidate: number | null;
  threshold: number;
  baseline: number | null;
  pass: boolean;
}

export interface GateResult {
  pass: boolean;
  checks: GateCheck[];
  warnings: string[];
}

// Rates are ratios of small integers: compare with a little slack so 0.97 − 0.03 does not fail 0.94.
const EPSILON = 1e-9;

export function evaluateGate(report: RunReport, baseline: Baseline | null, options: GateOptions): GateResult {
  if (!(options.tolerance >= 0 && options.tolerance <= 1)) throw new RangeError('tolerance must be within [0, 1]');
  const checks: GateCheck[] = [];
  const warnings: string[] = [];
  const candidates = new Map(report.summary.metrics.map((metric) => [metric.id, metric]));
  const selected = (id: string, gate: boolean) => (options.metrics ? options.metrics.includes(id) : gate);
  const measures: Array<'passRate' | 'meanScore'> =
    options.on === 'both' ? ['passRate', 'meanScore'] : options.on === 'score' ? ['meanScore'] : ['passRate'];

  if (baseline) {
    if (baseline.suite.hash !== report.suite.hash) {
      warnings.push(
        `suite changed since the baseline (${baseline.suite.hash} → ${report.suite.hash}): rates may not be comparable`,
      );
    }
    if (baseline.judge && report.judge && baseline.judge.model !== report.judge.model) {
      warnings.push(`judge model changed (${baseline.judge.model} → ${report.judge.model})`);
    }
    for (const [id, reference] of Object.entries(baseline.metrics)) {
      if (!selected(id, reference.gate)) continue;
      const candidate = candidates.get(id);
      for (const measure of measures) {
        const threshold = reference[measure] - options.tolerance;
        const value = candidate ? candidate[measure] : null;
        checks.push({
          metricId: id,
          measure,
          candidate: value,
          baseline: reference[measure],
          threshold,
          pass: value !== null && value + EPSILON >= threshold,
        });
      }
    }
    for (const id of candidates.keys()) {
      if (!(id in baseline.metrics)) warnings.push(`metric ${id} is not in the baseline (not gated)`);
    }
    for (const id of options.metrics ?? []) {
      if (!(id in baseline.metrics)) warnings.push(`--gate-metrics ${id} is not in the baseline`);
    }
  }
  if (options.minPassRate !== undefined) {
    for (const metric of report.summary.metrics) {
      if (!selected(metric.id, metric.gate)) continue;
      checks.push({
        metricId: metric.id,
        measure: 'passRate',
        candidate: metric.passRate,
        baseline: null,
        threshold: options.minPassRate,
        pass: metric.passRate + EPSILON >= options.minPassRate,
      });
    }
  }
  if (options.metrics && options.minPassRate !== undefined) {
    // A metric named in --gate-metrics that did not run at all must not pass silently.
    for (const id of options.metrics) {
      if (!candidates.has(id)) {
        checks.push({
          metricId: id,
          measure: 'passRate',
          candidate: null,
          baseline: null,
          threshold: options.minPassRate,
          pass: false,
        });
      }
    }
  }
  return { pass: checks.every((check) => check.pass), checks, warnings };
}
