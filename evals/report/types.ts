// The JSON run report: what `eval run` writes, what the HTML report and the baseline gate read. Versioned by
// `schemaVersion`; the suite content hash, judge model and judge prompt hashes say exactly what was measured.
import type { Stage } from '../contracts.ts';

export interface MetricOutcome {
  id: string;
  type: string;
  stage: Stage;
  gate: boolean;
  pass: boolean;
  score: number;
  reason: string;
  details?: Readonly<Record<string, unknown>>;
}

export interface CaseResult {
  caseId: string;
  repeat: number;
  tags: string[];
  /** The question as the judge sees it (user turns), for reports and human review. */
  input: string;
  reference?: string;
  output: string;
  /** Set when the target call failed; every metric of the case then fails with this reason. */
  error?: string;
  cached: boolean;
  latencyMs: number;
  metrics: MetricOutcome[];
  /** Every metric passed. */
  passed: boolean;
}

export interface MetricSummary {
  id: string;
  type: string;
  stage: Stage;
  gate: boolean;
  count: number;
  passRate: number;
  meanScore: number;
  /** Score histogram, 10 equal bins over [0, 1] (the last bin includes 1). */
  histogram: number[];
  /** Share of cases whose pass/fail changed across repeats (0 with --repeat 1). */
  flakyRate: number;
}

export interface RunSummary {
  units: number;
  cases: number;
  casePassRate: number;
  errors: number;
  metrics: MetricSummary[];
  judge: {
    pairwiseComparisons: number;
    flips: number;
    flipRate: number | null;
    /** Of the raw single-order verdicts that named a winner, the share that picked the answer shown first. */
    firstPositionRate: number | null;
  };
  /** With --repeat > 1: share of cases whose repeats all produced the identical output (null otherwise). */
  identicalOutputRate: number | null;
  flaky: Array<{ caseId: string; metricId: string; passes: number; repeats: number }>;
  worst: Array<{ caseId: string; repeat: number; failed: number; meanScore: number; reasons: string[] }>;
}

export interface RunReport {
  schemaVersion: 1;
  runId: string;
  startedAt: string;
  finishedAt: string;
  suite: { name: string; path: string; hash: string; cases: number };
  target: { label: string; model: string };
  compare: { label: string; model: string } | null;
  judge: { model: string; promptVersions: Readonly<Record<string, string>> } | null;
  embedder: { id: string; fallback: boolean };
  repeat: number;
  concurrency: number;
  /** Model calls made (cache misses) and cache hits; judge calls are counted when the judge client is known. */
  calls: { targetCalls: number; targetCacheHits: number; judgeCalls?: number };
  results: CaseResult[];
  summary: RunSummary;
}
