// The bench result file: config + per-request records + summaries, written as JSON under benchmarks/results/ by
// default. Reading validates the shape and recomputes each summary from its records, so a file is always consistent.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { BenchConfig, LoadMode } from './config.ts';
import { InvalidInputError, describeZodIssues } from './errors.ts';
import { summarize } from './metrics.ts';
import { ERROR_TYPES, type RequestRecord } from './records.ts';
import type { BenchResult } from './runner.ts';

export const DEFAULT_RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

const RecordSchema = z.object({
  index: z.number().int(),
  startMs: z.number(),
  scheduledMs: z.number().optional(),
  success: z.boolean(),
  ttftMs: z.number().nullable(),
  itlMs: z.array(z.number()),
  e2eMs: z.number(),
  promptTokens: z.number(),
  outputTokens: z.number(),
  outputTokenSource: z.enum(['usage', 'tiktoken']),
  error: z.object({ type: z.enum(ERROR_TYPES), status: z.number().optional(), message: z.string() }).optional(),
});

const ResultSchema = z.object({
  version: z.literal(1),
  tool: z.literal('switchyard bench'),
  createdAt: z.string(),
  config: BenchConfig,
  workload: z.string(),
  runs: z
    .array(
      z.object({ label: z.string(), mode: LoadMode, durationS: z.number().positive(), records: z.array(RecordSchema) }),
    )
    .min(1),
});

export function defaultResultPath(now = new Date()): string {
  const stamp = now.toISOString().replace(/[:.]/g, '-').replace(/Z$/, '');
  return join(DEFAULT_RESULTS_DIR, `bench-${stamp}.json`);
}

export async function writeResult(result: BenchResult, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(result)}\n`);
}

export function parseResult(json: unknown, source: string): BenchResult {
  const parsed = ResultSchema.safeParse(json);
  if (!parsed.success)
    throw new InvalidInputError(
      `${source} is not a switchyard bench result: ${describeZodIssues(parsed.error.issues)}`,
    );
  const data = parsed.data;
  return {
    ...data,
    runs: data.runs.map((run) => {
      const records = run.records as RequestRecord[];
      return {
        ...run,
        records,
        summary: summarize(records, run.durationS, data.config.goodput, data.config.percentiles),
      };
    }),
  };
}

export async function readResult(path: string): Promise<BenchResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InvalidInputError(`cannot read bench result ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`${path} is not JSON: ${(error as Error).message}`);
  }
  return parseResult(json, path);
}
