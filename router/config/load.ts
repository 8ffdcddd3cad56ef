// Loading switchyard.yaml: parse YAML, interpolate ${VAR} / ${VAR:-default} in string values (after parsing, so an
// environment value can never inject YAML structure), validate with the zod schema, and report every problem with
// the path that caused it (`pools[1].backends[0].url: Invalid URL`).
import { readFile } from 'node:fs/promises';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { CliError } from '../../core/errors.ts';
import { RouterConfig } from './schema.ts';

/** The router's config file is invalid: a start-up refusal naming every issue (never an HTTP answer). */
export class ConfigError extends CliError {
  readonly issues: readonly string[];
  constructor(source: string, issues: readonly string[]) {
    super(`Invalid config ${source}:\n  ${issues.join('\n  ')}`);
    this.issues = issues;
  }
}

export type Environment = Readonly<Record<string, string | undefined>>;

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** `pools[1].backends[0].url` from zod/yaml path segments. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text === '' ? '(root)' : text;
}

/** Replaces ${VAR} and ${VAR:-default} in every string of a parsed document; missing variables become issues. */
export function interpolateEnvironment(
  value: unknown,
  environment: Environment,
  issues: string[],
  path: PropertyKey[] = [],
): unknown {
  if (typeof value === 'string') {
    // A value that is exactly one ${VAR} holding a number/boolean keeps its YAML type (`port: ${PORT}`).
    const whole = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$/.exec(value);
    const replaced = value.replace(VARIABLE, (_match, name: string, fallback: string | undefined) => {
      const found = environment[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      issues.push(`${formatPath(path)}: environment variable ${name} is not set (use \${${name}:-default})`);
      return '';
    });
    if (whole && /^-?\d+(\.\d+)?$/.test(replaced)) return Number(replaced);
    if (whole && (replaced === 'true' || replaced === 'false')) return replaced === 'true';
    return replaced;
  }
  if (Array.isArray(value)) {
    return value.map((item, index) => interpolateEnvironment(item, environment, issues, [...path, index]));
  }
  if (value !== null && typeof value === 'object') {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      result[key] = interpolateEnvironment(item, environment, issues, [...path, key]);
    }
    return result;
  }
  return value;
}

export function formatZodIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
}

/** Validates an already-parsed config value (the embedded default goes through here too). */
export function validateConfig(
  value: unknown,
  source = '(value)',
  environment: Environment = process.env,
): RouterConfig {
  const issues: string[] = [];
  const interpolated = interpolateEnvironment(value, environment, issues);
  if (issues.length > 0) throw new ConfigError(source, issues);
  const result = RouterConfig.safeParse(interpolated);
  if (!result.success) throw new ConfigError(source, formatZodIssues(result.error));
  return result.data;
}

export function parseConfigText(text: string, source = '(text)', environment: Environment = process.env): RouterConfig {
  let document: unknown;
  try {
    document = parseYaml(text, { prettyErrors: true });
  } catch (error) {
    if (error instanceof YAMLParseError) throw new ConfigError(source, [`YAML: ${error.message}`]);
    throw error;
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new ConfigError(source, ['(root): expected a mapping with pools and models']);
  }
  return validateConfig(document, source, environment);
}

export async function loadConfigFile(path: string, environment: Environment = process.env): Promise<RouterConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [`cannot read file: ${(error as Error).message}`]);
  }
  return parseConfigText(text, path, environment);
}
