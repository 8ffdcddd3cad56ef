// The retrieval stage as a per-case metric: the documents an answer was grounded on (reported by the target, or
// else the ids it cites, e.g. "[doc-3]") ranked in order, scored against the case's `relevantDocuments` with the
// same trec_eval definitions as `switchyard eval retrieval`.
import { z } from 'zod';
import type { EvalMetric } from '../contracts.ts';
import { measureQuery } from '../retrieval/measures.ts';

export function citedDocuments(output: string, pattern: string): string[] {
  const ids: string[] = [];
  for (const match of output.matchAll(new RegExp(pattern, 'g'))) {
    const id = match[1] ?? match[0];
    if (!ids.includes(id)) ids.push(id);
  }
  return ids;
}

export const retrievalMetric: EvalMetric<{
  measure: 'recall' | 'precision' | 'mrr' | 'ap' | 'ndcg';
  k: number;
  threshold: number;
  citationPattern: string;
}> = {
  name: 'retrieval',
  stage: 'retrieval',
  description:
    'recall@k / precision@k / MRR / AP / nDCG@k (trec_eval definitions) of the retrieved or cited documents ' +
    'against the case `relevantDocuments`',
  params: z.strictObject({
    measure: z.enum(['recall', 'precision', 'mrr', 'ap', 'ndcg']).default('recall'),
    k: z.number().int().positive().default(5),
    threshold: z.number().min(0).max(1).default(0.5),
    citationPattern: z
      .string()
      .default('\\[([A-Za-z0-9_.:-]+)\\]')
      .refine((pattern) => {
        try {
          new RegExp(pattern, 'g');
          return true;
        } catch {
          return false;
        }
      }, 'not a valid regular expression'),
  }),
  evaluate(input, params) {
    const judgments = input.case.relevantDocuments;
    if (!judgments) throw new Error('the case has no `relevantDocuments`');
    const ranking = input.retrievedDocumentIds
      ? [...input.retrievedDocumentIds]
      : citedDocuments(input.output, params.citationPattern);
    const measures = measureQuery(ranking, new Map(Object.entries(judgments)), { cutoffs: [params.k] });
    const score =
      params.measure === 'recall'
        ? (measures.recallAt[params.k] ?? 0)
        : params.measure === 'precision'
          ? (measures.precisionAt[params.k] ?? 0)
          : params.measure === 'mrr'
            ? measures.recipRank
            : params.measure === 'ap'
              ? measures.averagePrecision
              : (measures.ndcgAt[params.k] ?? 0);
    const label =
      params.measure === 'mrr' || params.measure === 'ap' ? params.measure : `${params.measure}@${params.k}`;
    return {
      pass: score >= params.threshold,
      score,
      reason: `${label} ${score.toFixed(3)} over [${ranking.join(', ')}] (${measures.numRel} relevant)`,
    };
  },
};
