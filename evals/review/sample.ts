// Stage 4, first half: choose what humans review. Every flagged unit (a failed metric, a target or judge error, a
// pairwise position flip) plus a deterministic random share of the rest (seeded hash order, so the same run and
// seed always give the same sample), written as JSONL or CSV with empty `label`, `annotator` and `notes` columns.
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { sha256 } from '../canonical.ts';
import type { CaseResult, RunReport } from '../report/types.ts';

export interface ReviewItem {
  caseId: string;
  repeat: number;
  flagged: boolean;
  flagReasons: string;
  question: string;
  output: string;
  reference: string;
  automated: string;
  label: string;
  annotator: string;
  notes: string;
}

export const REVIEW_COLUMNS = [
  'caseId',
  'repeat',
  'flagged',
  'flagReasons',
  'question',
  'output',
  'reference',
  'automated',
  'label',
  'annotator',
  'notes',
] as const satisfies ReadonlyArray<keyof ReviewItem>;

export function flagReasons(result: CaseResult): string[] {
  const reasons: string[] = [];
  if (result.error !== undefined) reasons.push(`target error: ${result.error}`);
  for (const metric of result.metrics) {
    if (metric.details?.['flipped'] === true) reasons.push(`${metric.id}: judge position flip`);
    if (!metric.pass) reasons.push(`${metric.id} failed`);
  }
  return reasons;
}

export interface SampleOptions {
  /** Share of the non-flagged units to sample, in [0, 1]. */
  share: number;
  seed: string;
  includeFlagged?: boolean;
}

export function selectForReview(report: RunReport, options: SampleOptions): ReviewItem[] {
  if (!(options.share >= 0 && options.share <= 1)) throw new RangeError('review share must be within [0, 1]');
  const flagged: CaseResult[] = [];
  const rest: CaseResult[] = [];
  for (const result of report.results) {
    if ((options.includeFlagged ?? true) && flagReasons(result).length > 0) flagged.push(result);
    else rest.push(result);
  }
  const order = (result: CaseResult) => sha256(`${options.seed}\u0000${result.caseId}\u0000${result.repeat}`);
  const sampled = [...rest]
    .sort((a, b) => order(a).localeCompare(order(b)))
    .slice(0, Math.ceil(options.share * rest.length));
  return [...flagged, ...sampled]
    .sort((a, b) => a.caseId.localeCompare(b.caseId) || a.repeat - b.repeat)
    .map((result) => ({
      caseId: result.caseId,
      repeat: result.repeat,
      flagged: flagReasons(result).length > 0,
      flagReasons: flagReasons(result).join('; '),
      question: result.input,
      output: result.output,
      reference: result.reference ?? '',
      automated: result.passed ? 'pass' : 'fail',
      label: '',
      annotator: '',
      notes: '',
    }));
}

export function formatReviewFile(items: readonly ReviewItem[], format: 'jsonl' | 'csv'): string {
  if (format === 'jsonl') return items.map((item) => JSON.stringify(item)).join('\n') + (items.length > 0 ? '\n' : '');
  return stringify(
    items.map((item) => REVIEW_COLUMNS.map((column) => String(item[column]))),
    { header: true, columns: [...REVIEW_COLUMNS] },
  );
}

export function reviewFormatOf(path: string): 'jsonl' | 'csv' {
  const extension = extname(path).toLowerCase();
  if (extension === '.csv') return 'csv';
  if (extension === '.jsonl') return 'jsonl';
  throw new RangeError(`review file ${path}: use a .jsonl or .csv extension`);
}

export async function writeReviewFile(path: string, items: readonly ReviewItem[]): Promise<void> {
  await writeFile(path, formatReviewFile(items, reviewFormatOf(path)));
}
