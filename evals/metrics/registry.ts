// The one exhaustive metric registry: every metric a suite can name in an assertion's `type`. Adding a metric is
// one import and one line here; MetricName is derived from this object, and the conformance suite runs every entry.
import type { Stage } from '../contracts.ts';
import type { RawAssertion } from '../dataset/schema.ts';
import { InvalidRequestError } from '../../core/errors.ts';
import { registerMetric, type PreparedAssertion, type RegisteredMetric } from './define.ts';
import {
  containsMetric,
  equalsMetric,
  isJsonMetric,
  jsonSchemaMetric,
  languageMetric,
  notContainsMetric,
  notRegexMetric,
  regexMetric,
  requiredFieldsMetric,
  startsWithMetric,
  tokenLengthMetric,
} from './deterministic.ts';
import { pairwiseMetric, rubricMetric } from './judge-metrics.ts';
import {
  claimPrecisionMetric,
  claimRecallMetric,
  embeddingSimilarityMetric,
  entityOverlapMetric,
  faithfulnessMetric,
  rougeLMetric,
} from './semantic.ts';
import { retrievalMetric } from './retrieval-metric.ts';

export const METRICS = {
  // 1. deterministic
  equals: registerMetric(equalsMetric),
  contains: registerMetric(containsMetric),
  'not-contains': registerMetric(notContainsMetric),
  'starts-with': registerMetric(startsWithMetric),
  regex: registerMetric(regexMetric),
  'not-regex': registerMetric(notRegexMetric),
  'is-json': registerMetric(isJsonMetric),
  'json-schema': registerMetric(jsonSchemaMetric),
  'required-fields': registerMetric(requiredFieldsMetric),
  'token-length': registerMetric(tokenLengthMetric),
  language: registerMetric(languageMetric),
  // 2. semantic
  'embedding-similarity': registerMetric(embeddingSimilarityMetric),
  'claim-precision': registerMetric(claimPrecisionMetric),
  'claim-recall': registerMetric(claimRecallMetric),
  'rouge-l': registerMetric(rougeLMetric),
  'entity-overlap': registerMetric(entityOverlapMetric),
  faithfulness: registerMetric(faithfulnessMetric),
  // 3. judge
  pairwise: registerMetric(pairwiseMetric),
  rubric: registerMetric(rubricMetric),
  // retrieval (per case: the case's judged documents vs the documents the answer cites or retrieved)
  retrieval: registerMetric(retrievalMetric),
} as const satisfies Record<string, RegisteredMetric>;

export type MetricName = keyof typeof METRICS;

export const STAGE_ORDER: readonly Stage[] = ['deterministic', 'semantic', 'judge', 'retrieval'];

export function isMetricName(name: string): name is MetricName {
  return Object.hasOwn(METRICS, name);
}

/** Validates one raw assertion against the registry; `path` names it in errors (`cases.jsonl:3.assertions[1]`). */
export function prepareAssertion(raw: RawAssertion, path: string): PreparedAssertion {
  if (!isMetricName(raw.type)) {
    throw new InvalidRequestError(`${path}: unknown metric "${raw.type}" (known: ${Object.keys(METRICS).join(', ')})`, {
      param: `${path}.type`,
    });
  }
  return METRICS[raw.type].prepare(raw, path);
}
