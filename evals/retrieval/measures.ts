// Retrieval measures with trec_eval's definitions (usnistgov/trec_eval, m_P.c, m_recall.c, m_recip_rank.c, m_map.c,
// m_ndcg_cut.c, form_res_rels.c):
// - a document is relevant when its grade ≥ relevanceLevel (default 1); unjudged documents are non-relevant;
// - P@k = relevant in the top k / k (missing ranks count as non-relevant); recall@k = relevant in top k / R;
// - recip_rank = 1 / rank of the first relevant document; AP = Σ precision at each relevant retrieved / R;
// - nDCG@k: gain = the grade itself (graded) or 1 for relevant (binary), discount log2(rank + 1), ideal ranking
//   built from every judged grade > 0 of the query (graded nDCG counts grades below relevanceLevel too, as
//   trec_eval does); 0 when the ideal DCG is 0.
// Averages are over the queries of the run that have judgments (plus, with `complete`, judged queries missing
// from the run, scored 0: trec_eval -c).
import type { Qrels, Run } from './trec.ts';
import { rankDocuments } from './trec.ts';

export interface MeasureOptions {
  cutoffs: readonly number[];
  relevanceLevel?: number;
  complete?: boolean;
}

export interface QueryMeasures {
  numRet: number;
  numRel: number;
  numRelRet: number;
  recipRank: number;
  averagePrecision: number;
  precisionAt: Record<number, number>;
  recallAt: Record<number, number>;
  ndcgAt: Record<number, number>;
  ndcgBinaryAt: Record<number, number>;
}

function dcg(gains: readonly number[], k: number): number {
  let sum = 0;
  for (let i = 0; i < Math.min(k, gains.length); i++) {
    const gain = gains[i] ?? 0;
    if (gain > 0) sum += gain / Math.log2(i + 2);
  }
  return sum;
}

export function measureQuery(
  ranking: readonly string[],
  judgments: ReadonlyMap<string, number>,
  options: MeasureOptions,
): QueryMeasures {
  const level = options.relevanceLevel ?? 1;
  const grades = ranking.map((docno) => judgments.get(docno) ?? 0);
  const relevant = grades.map((grade) => grade >= level);
  const judged = [...judgments.values()];
  const numRel = judged.filter((grade) => grade >= level).length;

  let relSoFar = 0;
  let apSum = 0;
  let recipRank = 0;
  relevant.forEach((isRelevant, index) => {
    if (!isRelevant) return;
    relSoFar++;
    apSum += relSoFar / (index + 1);
    if (recipRank === 0) recipRank = 1 / (index + 1);
  });

  const gradedGains = grades.map((grade) => Math.max(0, grade));
  const binaryGains = relevant.map((isRelevant) => (isRelevant ? 1 : 0));
  const idealGraded = judged.filter((grade) => grade > 0).sort((a, b) => b - a);
  const idealBinary = new Array<number>(numRel).fill(1);

  const precisionAt: Record<number, number> = {};
  const recallAt: Record<number, number> = {};
  const ndcgAt: Record<number, number> = {};
  const ndcgBinaryAt: Record<number, number> = {};
  for (const k of options.cutoffs) {
    const relInTopK = relevant.slice(0, k).filter(Boolean).length;
    precisionAt[k] = relInTopK / k;
    recallAt[k] = numRel === 0 ? 0 : relInTopK / numRel;
    const idealDcg = dcg(idealGraded, k);
    ndcgAt[k] = idealDcg > 0 ? dcg(gradedGains, k) / idealDcg : 0;
    const idealBinaryDcg = dcg(idealBinary, k);
    ndcgBinaryAt[k] = idealBinaryDcg > 0 ? dcg(binaryGains, k) / idealBinaryDcg : 0;
  }
  return {
    numRet: ranking.length,
    numRel,
    numRelRet: relSoFar,
    recipRank,
    averagePrecision: numRel === 0 ? 0 : apSum / numRel,
    precisionAt,
    recallAt,
    ndcgAt,
    ndcgBinaryAt,
  };
}

export interface RunMeasures {
  numQueries: number;
  perQuery: Map<string, QueryMeasures>;
  mean: {
    map: number;
    mrr: number;
    precisionAt: Record<number, number>;
    recallAt: Record<number, number>;
    ndcgAt: Record<number, number>;
    ndcgBinaryAt: Record<number, number>;
  };
}

export function measureRun(run: Run, qrels: Qrels, options: MeasureOptions): RunMeasures {
  const perQuery = new Map<string, QueryMeasures>();
  const queryIds = [...run.keys()].filter((qid) => qrels.has(qid));
  if (options.complete) for (const qid of qrels.keys()) if (!run.has(qid)) queryIds.push(qid);
  for (const qid of queryIds.sort()) {
    perQuery.set(qid, measureQuery(rankDocuments(run.get(qid) ?? []), qrels.get(qid) ?? new Map(), options));
  }
  const all = [...perQuery.values()];
  const mean = (pick: (m: QueryMeasures) => number) =>
    all.length === 0 ? 0 : all.reduce((sum, m) => sum + pick(m), 0) / all.length;
  const atCutoffs = (pick: (m: QueryMeasures) => Record<number, number>) =>
    Object.fromEntries(options.cutoffs.map((k) => [k, mean((m) => pick(m)[k] ?? 0)]));
  return {
    numQueries: all.length,
    perQuery,
    mean: {
      map: mean((m) => m.averagePrecision),
      mrr: mean((m) => m.recipRank),
      precisionAt: atCutoffs((m) => m.precisionAt),
      recallAt: atCutoffs((m) => m.recallAt),
      ndcgAt: atCutoffs((m) => m.ndcgAt),
      ndcgBinaryAt: atCutoffs((m) => m.ndcgBinaryAt),
    },
  };
}
