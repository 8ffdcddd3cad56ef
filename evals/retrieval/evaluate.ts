// `eval retrieval`: run JSONL queries through a SearchBackend in each mode, rank documents (a document scores as
// its best chunk), measure against qrels with trec_eval's definitions, and write standard TREC run files.
import { z } from 'zod';
import { InvalidRequestError } from '../../core/errors.ts';
import type { SearchBackend, SearchMode } from '../contracts.ts';
import { measureRun, type MeasureOptions, type RunMeasures } from './measures.ts';
import type { Qrels, Run, RunEntry } from './trec.ts';
import { rankDocuments } from './trec.ts';

const QuerySchema = z.object({
  id: z.union([z.string().min(1), z.number()]).transform(String),
  text: z.string().min(1),
});
export type RetrievalQuery = z.infer<typeof QuerySchema>;

export function parseQueries(text: string, source = 'queries'): RetrievalQuery[] {
  const queries: RetrievalQuery[] = [];
  const ids = new Set<string>();
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line) as unknown;
    } catch {
      throw new InvalidRequestError(`${source}:${index + 1}: not valid JSON`);
    }
    const parsed = QuerySchema.safeParse(json);
    if (!parsed.success) throw new InvalidRequestError(`${source}:${index + 1}: expected {"id", "text"}`);
    if (/\s/.test(parsed.data.id))
      throw new InvalidRequestError(`${source}:${index + 1}: query ids cannot contain spaces (TREC)`);
    if (ids.has(parsed.data.id))
      throw new InvalidRequestError(`${source}:${index + 1}: duplicate query id ${parsed.data.id}`);
    ids.add(parsed.data.id);
    queries.push(parsed.data);
  });
  return queries;
}

/** Chunk hits → one entry per document with its best chunk's score, top `depth` in trec_eval order. */
export function documentsFromHits(
  hits: ReadonlyArray<{ documentId: string; score: number }>,
  depth: number,
): RunEntry[] {
  const best = new Map<string, number>();
  for (const hit of hits) {
    if (/\s/.test(hit.documentId))
      throw new InvalidRequestError(`document id ${JSON.stringify(hit.documentId)} has whitespace (TREC)`);
    const previous = best.get(hit.documentId);
    if (previous === undefined || hit.score > previous) best.set(hit.documentId, hit.score);
  }
  const entries = [...best.entries()].map(([docno, score]) => ({ docno, score }));
  const order = rankDocuments(entries);
  return order.slice(0, depth).map((docno) => ({ docno, score: best.get(docno) ?? 0 }));
}

export interface ModeResult {
  /** The search mode, or `run-file` when an existing run was scored. */
  mode: SearchMode | 'run-file';
  run: Run;
  measures: RunMeasures;
  /** The backend degraded this mode (e.g. vector → lexical without an embedder): the row is not what it says. */
  warnings: string[];
}

export interface RetrievalEvalOptions {
  modes: readonly SearchMode[];
  /** Documents kept per query in the run (trec_eval depth). */
  depth: number;
  /** Chunks requested from the backend per query (documents are aggregated from them). */
  chunkDepth?: number;
  measure: MeasureOptions;
}

export async function evaluateRetrieval(
  backend: SearchBackend,
  queries: readonly RetrievalQuery[],
  qrels: Qrels,
  options: RetrievalEvalOptions,
): Promise<ModeResult[]> {
  const results: ModeResult[] = [];
  for (const mode of options.modes) {
    if (!backend.modes.includes(mode)) {
      throw new InvalidRequestError(`search mode ${mode} is not available (available: ${backend.modes.join(', ')})`);
    }
    const run: Run = new Map();
    backend.takeWarnings?.();
    for (const query of queries) {
      const hits = await backend.search(query.text, mode, options.chunkDepth ?? options.depth * 5);
      run.set(query.id, documentsFromHits(hits, options.depth));
    }
    const warnings = backend.takeWarnings?.() ?? [];
    results.push({ mode, run, measures: measureRun(run, qrels, options.measure), warnings });
  }
  return results;
}

/** The headline table: nDCG@k, MAP, P@k (k = the largest cutoff up to 100), R@100, MRR; `--json` has every cutoff. */
export function formatRetrievalTable(results: readonly ModeResult[], cutoffs: readonly number[]): string {
  const k = Math.max(...cutoffs.filter((cutoff) => cutoff !== RECALL_CUTOFF || cutoffs.length === 1));
  const header = ['mode', 'queries', `nDCG@${k}`, 'MAP', `P@${k}`, `R@${RECALL_CUTOFF}`, 'MRR'];
  const rows = results.map((result) => {
    const mean = result.measures.mean;
    return [
      result.mode,
      String(result.measures.numQueries),
      (mean.ndcgAt[k] ?? 0).toFixed(4),
      mean.map.toFixed(4),
      (mean.precisionAt[k] ?? 0).toFixed(4),
      mean.recallAt[RECALL_CUTOFF] === undefined ? '-' : mean.recallAt[RECALL_CUTOFF].toFixed(4),
      mean.mrr.toFixed(4),
    ];
  });
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  const warnings = results.flatMap((result) => result.warnings.map((warning) => `warning: ${warning}`));
  return [line(header), ...rows.map(line), ...warnings].join('\n');
}

/** Recall is reported at 100 whatever --k is (with runs 1,000 deep, as TREC reports it). */
export const RECALL_CUTOFF = 100;
