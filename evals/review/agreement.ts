// Stage 4, second half: import annotated review files and measure agreement. Two annotators → Cohen's kappa;
// three or more → Fleiss' kappa (over the items every annotator labelled) plus Cohen's kappa for each pair.
// Agreement below 0.7 is flagged: the labels (or the guidelines) are not reliable enough to trust yet.
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { parse } from 'csv-parse/sync';
import { InvalidRequestError } from '../../core/errors.ts';

export const AGREEMENT_WARNING_THRESHOLD = 0.7;

export interface Annotation {
  itemId: string;
  annotator: string;
  label: string;
}

/** κ = (pₒ − pₑ)/(1 − pₑ); null when undefined (both annotators used one and the same label throughout). */
export function cohensKappa(pairs: ReadonlyArray<readonly [string, string]>): number | null {
  if (pairs.length === 0) return null;
  const n = pairs.length;
  const agree = pairs.filter(([a, b]) => a === b).length;
  const countsA = new Map<string, number>();
  const countsB = new Map<string, number>();
  for (const [a, b] of pairs) {
    countsA.set(a, (countsA.get(a) ?? 0) + 1);
    countsB.set(b, (countsB.get(b) ?? 0) + 1);
  }
  let expected = 0;
  for (const [label, count] of countsA) expected += (count / n) * ((countsB.get(label) ?? 0) / n);
  const observed = agree / n;
  if (1 - expected === 0) return null;
  return (observed - expected) / (1 - expected);
}

/** Fleiss' κ for items each rated by the same number m ≥ 2 of raters; `ratings[i]` = the m labels of item i. */
export function fleissKappa(ratings: ReadonlyArray<readonly string[]>): number | null {
  if (ratings.length === 0) return null;
  const m = ratings[0]?.length ?? 0;
  if (m < 2) return null;
  if (ratings.some((labels) => labels.length !== m))
    throw new RangeError('every item needs the same number of ratings');
  const totals = new Map<string, number>();
  let sumAgreement = 0;
  for (const labels of ratings) {
    const counts = new Map<string, number>();
    for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
    let squares = 0;
    for (const [label, count] of counts) {
      squares += count * count;
      totals.set(label, (totals.get(label) ?? 0) + count);
    }
    sumAgreement += (squares - m) / (m * (m - 1));
  }
  const meanAgreement = sumAgreement / ratings.length;
  let expected = 0;
  for (const count of totals.values()) expected += (count / (ratings.length * m)) ** 2;
  if (1 - expected === 0) return null;
  return (meanAgreement - expected) / (1 - expected);
}

export interface AgreementReport {
  annotators: string[];
  items: number;
  /** Items labelled by every annotator (the base of the kappa). */
  commonItems: number;
  method: 'cohen' | 'fleiss';
  kappa: number | null;
  pairwise: Array<{ a: string; b: string; items: number; kappa: number | null }>;
  warning: string | null;
}

export function computeAgreement(annotations: readonly Annotation[]): AgreementReport {
  const byItem = new Map<string, Map<string, string>>();
  for (const annotation of annotations) {
    const labels = byItem.get(annotation.itemId) ?? new Map<string, string>();
    labels.set(annotation.annotator, annotation.label);
    byItem.set(annotation.itemId, labels);
  }
  const annotators = [...new Set(annotations.map((annotation) => annotation.annotator))].sort();
  if (annotators.length < 2) {
    throw new InvalidRequestError(`agreement needs at least two annotators, found ${annotators.length}`);
  }
  const pairwise: AgreementReport['pairwise'] = [];
  for (let i = 0; i < annotators.length; i++) {
    for (let j = i + 1; j < annotators.length; j++) {
      const a = annotators[i] as string;
      const b = annotators[j] as string;
      const pairs: Array<[string, string]> = [];
      for (const labels of byItem.values()) {
        const la = labels.get(a);
        const lb = labels.get(b);
        if (la !== undefined && lb !== undefined) pairs.push([la, lb]);
      }
      pairwise.push({ a, b, items: pairs.length, kappa: cohensKappa(pairs) });
    }
  }
  const complete = [...byItem.values()].filter((labels) => annotators.every((annotator) => labels.has(annotator)));
  const method = annotators.length === 2 ? 'cohen' : 'fleiss';
  const kappa =
    method === 'cohen'
      ? (pairwise[0]?.kappa ?? null)
      : fleissKappa(complete.map((labels) => annotators.map((annotator) => labels.get(annotator) as string)));
  const warning =
    kappa === null
      ? 'agreement is undefined (too few items, or a single label used by everyone)'
      : kappa < AGREEMENT_WARNING_THRESHOLD
        ? `agreement ${kappa.toFixed(3)} is below ${AGREEMENT_WARNING_THRESHOLD}: labels are not reliable yet`
        : null;
  return { annotators, items: byItem.size, commonItems: complete.length, method, kappa, pairwise, warning };
}

function rowsOf(text: string, path: string): Array<Record<string, unknown>> {
  const extension = extname(path).toLowerCase();
  if (extension === '.csv')
    return parse(text, { columns: true, skip_empty_lines: true }) as Array<Record<string, unknown>>;
  if (extension === '.jsonl') {
    return text
      .split(/\r?\n/)
      .filter((line) => line.trim() !== '')
      .map((line, index) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          throw new InvalidRequestError(`${path}:${index + 1}: not valid JSON`);
        }
      });
  }
  throw new InvalidRequestError(`annotation file ${path}: use .jsonl or .csv`);
}

/**
 * Reads annotated review files (with `includeAutomated`, the run's pass/fail verdict joins as annotator
 * "automated"). Rows without a label are skipped; a row's annotator is its `annotator` column, or
 * the file name when that is empty (one file per annotator is the usual workflow).
 */
export async function readAnnotations(
  paths: readonly string[],
  options: { includeAutomated?: boolean } = {},
): Promise<Annotation[]> {
  const annotations: Annotation[] = [];
  const automated = new Map<string, string>();
  for (const path of paths) {
    const rows = rowsOf(await readFile(path, 'utf8'), path);
    for (const row of rows) {
      // The pipeline's own verdict as one more "annotator": how far do humans agree with the automated checks?
      const verdict = String(row['automated'] ?? '')
        .trim()
        .toLowerCase();
      if (options.includeAutomated && verdict !== '' && String(row['caseId'] ?? '') !== '') {
        automated.set(`${String(row['caseId'])}#${String(row['repeat'] ?? 0)}`, verdict);
      }
      const label = String(row['label'] ?? '')
        .trim()
        .toLowerCase();
      if (label === '') continue;
      const caseId = String(row['caseId'] ?? '').trim();
      if (caseId === '') throw new InvalidRequestError(`${path}: a labelled row has no caseId`);
      const annotator = String(row['annotator'] ?? '').trim() || basename(path, extname(path));
      annotations.push({ itemId: `${caseId}#${String(row['repeat'] ?? 0)}`, annotator, label });
    }
  }
  for (const [itemId, label] of automated) annotations.push({ itemId, annotator: 'automated', label });
  return annotations;
}
