// Turns an EvalMetric definition into a registry entry: parameters are validated once at load time (with the path
// of the assertion in the error), and evaluation is guarded so a metric can never crash a run or report a score
// outside [0,1].
import { z } from 'zod';
import { InvalidRequestError } from '../../core/errors.ts';
import type { EvalMetric, MetricInput, MetricResult, MetricServices, Stage } from '../contracts.ts';
import type { RawAssertion } from '../dataset/schema.ts';

export interface PreparedAssertion {
  /** Name in reports and baselines. */
  id: string;
  type: string;
  stage: Stage;
  gate: boolean;
  evaluate(input: MetricInput, services: MetricServices): Promise<MetricResult>;
}

export interface RegisteredMetric {
  readonly name: string;
  readonly stage: Stage;
  readonly description: string;
  prepare(raw: RawAssertion, path: string): PreparedAssertion;
}

export function registerMetric<Params>(metric: EvalMetric<Params>): RegisteredMetric {
  return {
    name: metric.name,
    stage: metric.stage,
    description: metric.description,
    prepare(raw, path) {
      const { type: _type, id, gate, ...rest } = raw;
      const parsed = metric.params.safeParse(rest);
      if (!parsed.success) {
        const detail = parsed.error.issues
          .map((issue) => `${[path, ...issue.path.map(String)].join('.')}: ${issue.message}`)
          .join('; ');
        throw new InvalidRequestError(`Invalid parameters for metric "${metric.name}": ${detail}`, { param: path });
      }
      const params = parsed.data;
      return {
        id: id ?? metric.name,
        type: metric.name,
        stage: metric.stage,
        gate: gate ?? true,
        async evaluate(input, services) {
          try {
            return checkResult(await metric.evaluate(input, params, services));
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            return { pass: false, score: 0, reason: `metric error: ${message}` };
          }
        },
      };
    },
  };
}

function checkResult(result: MetricResult): MetricResult {
  if (!Number.isFinite(result.score)) {
    return { pass: false, score: 0, reason: `metric produced a non-finite score (${result.reason})` };
  }
  return { ...result, score: Math.min(1, Math.max(0, result.score)) };
}

/** Common optional pass threshold for metrics that produce a graded score. */
export const thresholdField = (defaultValue: number) => z.number().min(0).max(1).default(defaultValue);
