// The smaller `eval` subcommands: baseline save, add-case, review sample / agreement, retrieval. Each returns the
// exit code (0 ok, 1 a check failed, 2 bad input).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { SearchMode } from '../contracts.ts';
import { addCaseFromRequest } from '../dataset/add-case.ts';
import { baselineFromReport } from '../gate/baseline.ts';
import type { RunReport } from '../report/types.ts';
import { openRetrievalBackend } from '../retrieval/backend.ts';
import {
  evaluateRetrieval,
  formatRetrievalTable,
  parseQueries,
  RECALL_CUTOFF,
  type ModeResult,
} from '../retrieval/evaluate.ts';
import { convertCacm } from '../retrieval/cacm.ts';
import { measureRun } from '../retrieval/measures.ts';
import { formatRun, parseQrels, parseRun } from '../retrieval/trec.ts';
import { computeAgreement, readAnnotations } from '../review/agreement.ts';
import { selectForReview, writeReviewFile } from '../review/sample.ts';
import { consoleIo, type CommandIo } from './run.ts';
import { describeFlagIssues, oneLine } from './flags.ts';

const message = (error: unknown): string => oneLine(error);

const ReportShape = z.looseObject({
  schemaVersion: z.literal(1),
  runId: z.string(),
  suite: z.looseObject({ name: z.string(), hash: z.string() }),
  summary: z.looseObject({ metrics: z.array(z.looseObject({ id: z.string() })) }),
  results: z.array(z.unknown()),
});

export async function readReport(path: string): Promise<RunReport> {
  const json = JSON.parse(await readFile(path, 'utf8')) as unknown;
  const parsed = ReportShape.safeParse(json);
  if (!parsed.success) throw new Error(`${path} is not an eval run report (report.json)`);
  return json as RunReport;
}

export async function evalBaselineSave(
  options: { report: string; out: string },
  io: CommandIo = consoleIo,
): Promise<number> {
  try {
    const baseline = baselineFromReport(await readReport(options.report));
    await mkdir(dirname(options.out), { recursive: true });
    await writeFile(options.out, `${JSON.stringify(baseline, null, 2)}\n`);
    io.stdout(`baseline: ${Object.keys(baseline.metrics).length} metrics from run ${baseline.runId} → ${options.out}`);
    return 0;
  } catch (error) {
    io.stderr(`eval baseline save: ${message(error)}`);
    return 2;
  }
}

export async function evalAddCase(
  options: {
    fromRequest: string;
    log: string;
    suite: string;
    id?: string;
    tag?: string[];
    referenceFromResponse?: boolean;
  },
  io: CommandIo = consoleIo,
): Promise<number> {
  try {
    const evalCase = await addCaseFromRequest(options.log, options.suite, {
      requestId: options.fromRequest,
      ...(options.id ? { caseId: options.id } : {}),
      ...(options.tag ? { tags: options.tag } : {}),
      ...(options.referenceFromResponse ? { referenceFromResponse: true } : {}),
    });
    io.stdout(`added case ${evalCase.id} to ${options.suite}; add its assertions (expected answer, checks) by hand`);
    return 0;
  } catch (error) {
    io.stderr(`eval add-case: ${message(error)}`);
    return 2;
  }
}

export async function evalReviewSample(
  options: { report: string; out: string; share: string; seed: string },
  io: CommandIo = consoleIo,
): Promise<number> {
  try {
    const { share } = z
      .object({ share: z.coerce.number().min(0).max(1) })
      .parse({ share: options.share === '' ? Number.NaN : options.share });
    const items = selectForReview(await readReport(options.report), { share, seed: options.seed });
    await writeReviewFile(options.out, items);
    io.stdout(
      `human review: ${items.length} item(s) (${items.filter((item) => item.flagged).length} flagged) → ${options.out}`,
    );
    return 0;
  } catch (error) {
    io.stderr(`eval review sample: ${message(error)}`);
    return 2;
  }
}

export async function evalReviewAgreement(
  files: readonly string[],
  io: CommandIo = consoleIo,
  options: { includeAutomated?: boolean } = {},
): Promise<number> {
  try {
    const agreement = computeAgreement(await readAnnotations(files, options));
    io.stdout(
      `${agreement.method === 'cohen' ? "Cohen's" : "Fleiss'"} kappa over ${agreement.commonItems} item(s) ` +
        `labelled by all of ${agreement.annotators.join(', ')}: ${agreement.kappa === null ? 'undefined' : agreement.kappa.toFixed(3)}`,
    );
    if (agreement.method === 'fleiss') {
      for (const pair of agreement.pairwise) {
        io.stdout(
          `  Cohen's kappa ${pair.a} vs ${pair.b} (${pair.items} items): ${pair.kappa === null ? 'undefined' : pair.kappa.toFixed(3)}`,
        );
      }
    }
    if (agreement.warning) {
      io.stderr(`warning: ${agreement.warning}`);
      return 1;
    }
    return 0;
  } catch (error) {
    io.stderr(`eval review agreement: ${message(error)}`);
    return 2;
  }
}

const MODES = ['lexical', 'lexical-prf', 'vector', 'hybrid', 'rerank'] as const satisfies readonly SearchMode[];

export const RetrievalCommandSchema = z.object({
  index: z.string().optional(),
  indexDir: z.string().optional(),
  queries: z.string().optional(),
  qrels: z.string(),
  run: z.string().optional(),
  mode: z.string().default('lexical,lexical-prf,vector,hybrid'),
  k: z.coerce.number().int().positive().default(10),
  depth: z.coerce.number().int().positive().max(1000).default(1000),
  relevanceLevel: z.coerce.number().int().default(1),
  complete: z.boolean().default(false),
  runOut: z.string().optional(),
  tag: z.string().default('switchyard'),
  json: z.boolean().default(false),
});

export function cutoffsUpTo(k: number): number[] {
  return [...new Set([1, 3, 5, 10, 20, 100].filter((cutoff) => cutoff < k).concat(k))].sort((a, b) => a - b);
}

export async function evalRetrieval(
  raw: z.input<typeof RetrievalCommandSchema>,
  io: CommandIo = consoleIo,
): Promise<number> {
  try {
    const parsed = RetrievalCommandSchema.safeParse(raw);
    if (!parsed.success) throw new Error(describeFlagIssues(parsed.error, raw as Record<string, unknown>));
    const options = parsed.data;
    const qrels = parseQrels(await readFile(options.qrels, 'utf8'), options.qrels);
    const cutoffs = [...new Set([...cutoffsUpTo(options.k), RECALL_CUTOFF])].sort((a, b) => a - b);
    const measure = { cutoffs, relevanceLevel: options.relevanceLevel, complete: options.complete };
    let results: ModeResult[];
    if (options.run) {
      const run = parseRun(await readFile(options.run, 'utf8'), options.run);
      results = [{ mode: 'run-file', run, measures: measureRun(run, qrels, measure), warnings: [] }];
      io.stdout(`scored run file ${options.run}`);
    } else {
      if (!options.index || !options.queries)
        throw new Error('give --index and --queries (or --run FILE to score a run file)');
      const modes = options.mode.split(',').map((mode) => {
        const known = z.enum(MODES).safeParse(mode.trim());
        if (!known.success) throw new Error(`--mode: "${mode.trim()}" is not one of ${MODES.join(', ')}`);
        return known.data;
      });
      const opened = await openRetrievalBackend(options.index, options.indexDir ? { indexRoot: options.indexDir } : {});
      if (!opened.ok) throw new Error(`cannot open index ${options.index}: ${opened.reason}`);
      try {
        const queries = parseQueries(await readFile(options.queries, 'utf8'), options.queries);
        results = await evaluateRetrieval(opened.backend, queries, qrels, { modes, depth: options.depth, measure });
      } finally {
        await opened.close();
      }
      if (options.runOut) await writeRuns(results, options.runOut, options.tag);
    }
    io.stdout(
      options.json
        ? JSON.stringify(
            results.map((result) => ({
              mode: result.mode,
              numQueries: result.measures.numQueries,
              ...result.measures.mean,
            })),
            null,
            2,
          )
        : formatRetrievalTable(results, cutoffs),
    );
    return 0;
  } catch (error) {
    io.stderr(`eval retrieval: ${message(error)}`);
    return 2;
  }
}

export async function evalConvertCacm(folder: string, out: string, io: CommandIo = consoleIo): Promise<number> {
  try {
    const converted = convertCacm(folder, out);
    io.stdout(
      `CACM: ${converted.documents} documents, ${converted.queries} queries (${converted.judgedQueries} judged) → ` +
        `${converted.files.documents}, ${converted.files.queries}, ${converted.files.qrels}`,
    );
    return 0;
  } catch (error) {
    io.stderr(`eval convert-cacm: ${message(error)}`);
    return 2;
  }
}

/** One run file per mode: `FILE` for a single mode, `FILE.<mode>` otherwise. */
export async function writeRuns(results: readonly ModeResult[], path: string, tag: string): Promise<string[]> {
  const written: string[] = [];
  for (const result of results) {
    const target = results.length === 1 ? path : `${path}.${result.mode}`;
    await writeFile(target, formatRun(result.run, `${tag}-${result.mode}`));
    written.push(target);
  }
  return written;
}
