// Loads a suite: a JSONL file of cases, or a YAML/JSON suite file pointing at one (plus default assertions and
// request parameters). Every problem is reported with file, line and field; assertions are checked against the
// metric registry here, before any model is called. The suite version is a content hash of the parsed suite.
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { InvalidRequestError } from '../../core/errors.ts';
import { contentHash } from '../canonical.ts';
import type { PreparedAssertion } from '../metrics/define.ts';
import { prepareAssertion } from '../metrics/registry.ts';
import { EvalCaseSchema, SuiteFileSchema, type EvalCase, type SuiteFile } from './schema.ts';

export interface LoadedCase {
  case: EvalCase;
  assertions: PreparedAssertion[];
}

export interface LoadedSuite {
  name: string;
  path: string;
  casesPath: string;
  /** `sha256:` + 12 hex of the canonical parsed suite (cases + defaults): the dataset version. */
  hash: string;
  request: SuiteFile['defaults']['request'];
  cases: LoadedCase[];
  /** The suite's registry prompt (`name@version`), if it names one. */
  prompt?: string;
  /** Default values of the suite prompt's variables. */
  variables?: Readonly<Record<string, string>>;
}

function describeIssues(error: z.ZodError, where: string): string {
  return error.issues
    .map((issue) => `${where}${issue.path.length > 0 ? ` ${issue.path.map(String).join('.')}` : ''}: ${issue.message}`)
    .join('; ');
}

export function parseCases(text: string, source: string): EvalCase[] {
  const cases: EvalCase[] = [];
  const ids = new Set<string>();
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '' || line.trimStart().startsWith('//')) return;
    const where = `${source}:${index + 1}`;
    let json: unknown;
    try {
      json = JSON.parse(line) as unknown;
    } catch (error) {
      throw new InvalidRequestError(
        `${where}: not valid JSON (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    const parsed = EvalCaseSchema.safeParse(json);
    if (!parsed.success) throw new InvalidRequestError(describeIssues(parsed.error, where));
    if (ids.has(parsed.data.id)) throw new InvalidRequestError(`${where}: duplicate case id "${parsed.data.id}"`);
    ids.add(parsed.data.id);
    cases.push(parsed.data);
  });
  if (cases.length === 0) throw new InvalidRequestError(`${source}: no cases`);
  return cases;
}

export function buildSuite(
  name: string,
  path: string,
  casesPath: string,
  cases: EvalCase[],
  defaults: SuiteFile['defaults'],
): LoadedSuite {
  const loaded = cases.map((evalCase) => {
    const raw = [...defaults.assertions, ...evalCase.assertions];
    const assertions = raw.map((assertion, index) =>
      prepareAssertion(assertion, `${evalCase.id}.assertions[${index}]`),
    );
    const seen = new Set<string>();
    for (const assertion of assertions) {
      if (seen.has(assertion.id)) {
        throw new InvalidRequestError(
          `case ${evalCase.id}: metric "${assertion.id}" appears twice; give each an \`id\` to tell them apart`,
        );
      }
      seen.add(assertion.id);
    }
    return { case: evalCase, assertions };
  });
  return {
    name,
    path,
    casesPath,
    hash: contentHash({ name, defaults, cases }),
    request: defaults.request,
    cases: loaded,
  };
}

export async function loadSuite(path: string): Promise<LoadedSuite> {
  const absolute = resolve(path);
  const text = await readFile(absolute, 'utf8').catch((error: unknown) => {
    throw new InvalidRequestError(
      `cannot read suite ${path}: ${error instanceof Error ? error.message : String(error)}`,
    );
  });
  const extension = extname(absolute).toLowerCase();
  if (extension === '.jsonl') {
    return buildSuite(basename(absolute, extension), absolute, absolute, parseCases(text, path), {
      assertions: [],
      request: {},
    });
  }
  if (!['.yaml', '.yml', '.json'].includes(extension)) {
    throw new InvalidRequestError(`suite ${path}: expected .jsonl (cases) or .yaml/.yml/.json (suite file)`);
  }
  const parsed = SuiteFileSchema.safeParse(YAML.parse(text) as unknown);
  if (!parsed.success) throw new InvalidRequestError(describeIssues(parsed.error, path));
  const casesPath = resolve(dirname(absolute), parsed.data.cases);
  const casesText = await readFile(casesPath, 'utf8').catch((error: unknown) => {
    throw new InvalidRequestError(
      `suite ${path}: cannot read cases ${parsed.data.cases}: ${error instanceof Error ? error.message : String(error)}`,
    );
  });
  const suite = buildSuite(
    parsed.data.name,
    absolute,
    casesPath,
    parseCases(casesText, parsed.data.cases),
    parsed.data.defaults,
  );
  if (parsed.data.prompt !== undefined) suite.prompt = parsed.data.prompt;
  if (parsed.data.defaults.variables !== undefined) suite.variables = parsed.data.defaults.variables;
  return suite;
}
