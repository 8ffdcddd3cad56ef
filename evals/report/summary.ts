// Aggregates case results into per-metric pass rates, score distributions, judge flip rate, flakiness across
// repeats and the worst cases.
import type { CaseResult, MetricOutcome, MetricSummary, RunSummary } from './types.ts';

export function histogram(scores: readonly number[], bins = 10): number[] {
  const counts = new Array<number>(bins).fill(0);
  for (const score of scores) {
    const bin = Math.min(bins - 1, Math.max(0, Math.floor(score * bins)));
    counts[bin] = (counts[bin] ?? 0) + 1;
  }
  return counts;
}

const mean = (values: readonly number[]) =>
  values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;

export function summarize(results: readonly CaseResult[], worstCount = 10): RunSummary {
  const repeated = results.some((result) => result.repeat > 0);
  const byMetric = new Map<string, MetricOutcome[]>();
  const byCaseMetric = new Map<string, { caseId: string; metricId: string; passes: number; repeats: number }>();
  let pairwiseComparisons = 0;
  let flips = 0;
  let namedWinner = 0;
  let pickedFirst = 0;
  const outputsByCase = new Map<string, Set<string>>();
  for (const result of results) {
    const outputs = outputsByCase.get(result.caseId) ?? new Set<string>();
    outputs.add(result.output);
    outputsByCase.set(result.caseId, outputs);
    for (const metric of result.metrics) {
      const list = byMetric.get(metric.id) ?? [];
      list.push(metric);
      byMetric.set(metric.id, list);
      const key = `${result.caseId}\u0000${metric.id}`;
      const entry = byCaseMetric.get(key) ?? { caseId: result.caseId, metricId: metric.id, passes: 0, repeats: 0 };
      entry.repeats++;
      if (metric.pass) entry.passes++;
      byCaseMetric.set(key, entry);
      if (metric.type === 'pairwise' && metric.details && typeof metric.details['flipped'] === 'boolean') {
        pairwiseComparisons++;
        if (metric.details['flipped']) flips++;
        for (const order of [metric.details['candidateFirst'], metric.details['candidateSecond']]) {
          const winner = (order as { winner?: unknown } | undefined)?.winner;
          if (winner === 'A' || winner === 'B') {
            namedWinner++;
            if (winner === 'A') pickedFirst++;
          }
        }
      }
    }
  }
  const flaky = [...byCaseMetric.values()].filter((entry) => entry.passes > 0 && entry.passes < entry.repeats);
  const metrics: MetricSummary[] = [...byMetric.entries()]
    .map(([id, outcomes]) => {
      const first = outcomes[0] as MetricOutcome;
      const casesWithMetric = [...byCaseMetric.values()].filter((entry) => entry.metricId === id);
      return {
        id,
        type: first.type,
        stage: first.stage,
        gate: outcomes.some((outcome) => outcome.gate),
        count: outcomes.length,
        passRate: outcomes.filter((outcome) => outcome.pass).length / outcomes.length,
        meanScore: mean(outcomes.map((outcome) => outcome.score)),
        histogram: histogram(outcomes.map((outcome) => outcome.score)),
        flakyRate:
          casesWithMetric.length === 0
            ? 0
            : flaky.filter((entry) => entry.metricId === id).length / casesWithMetric.length,
      };
    })
    .sort((a, b) => a.id.localeCompare(b.id));
  const worst = results
    .map((result) => ({
      caseId: result.caseId,
      repeat: result.repeat,
      failed: result.metrics.filter((metric) => !metric.pass).length,
      meanScore: mean(result.metrics.map((metric) => metric.score)),
      reasons: result.metrics.filter((metric) => !metric.pass).map((metric) => `${metric.id}: ${metric.reason}`),
    }))
    .filter((entry) => entry.failed > 0)
    .sort((a, b) => b.failed - a.failed || a.meanScore - b.meanScore || a.caseId.localeCompare(b.caseId))
    .slice(0, worstCount);
  return {
    units: results.length,
    cases: new Set(results.map((result) => result.caseId)).size,
    casePassRate: results.length === 0 ? 0 : results.filter((result) => result.passed).length / results.length,
    errors: results.filter((result) => result.error !== undefined).length,
    metrics,
    judge: {
      pairwiseComparisons,
      flips,
      flipRate: pairwiseComparisons === 0 ? null : flips / pairwiseComparisons,
      firstPositionRate: namedWinner === 0 ? null : pickedFirst / namedWinner,
    },
    identicalOutputRate: repeated
      ? [...outputsByCase.values()].filter((outputs) => outputs.size === 1).length / outputsByCase.size
      : null,
    flaky,
    worst,
  };
}
