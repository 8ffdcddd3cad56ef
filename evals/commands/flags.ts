// Option errors from zod in the words of the command line: `--timeout-ms: expected a number, got "abc"`, one line.
import { ZodError, type core } from 'zod';

const kebab = (name: string): string => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);

function describeIssue(issue: core.$ZodIssue, values: Record<string, unknown>): string {
  const key = issue.path.map(String).join('.');
  const flag = key === '' ? '' : `--${kebab(key)}: `;
  const given = key === '' ? undefined : values[key];
  const got = given === undefined ? '' : `, got "${String(given)}"`;
  const text =
    issue.code === 'invalid_type' && issue.expected === 'number'
      ? 'expected a number'
      : issue.message.replace(/^Too (small|big): expected number to be /, 'must be ');
  return `${flag}${text}${got}`;
}

/** Every issue of a zod error over command options, joined into one line. */
export function describeFlagIssues(error: ZodError, values: Record<string, unknown> = {}): string {
  return error.issues.map((issue) => describeIssue(issue, values)).join('; ');
}

/** An error's message on one line; zod errors as option errors. */
export function oneLine(error: unknown, values: Record<string, unknown> = {}): string {
  if (error instanceof ZodError) return describeFlagIssues(error, values);
  const text = error instanceof Error ? error.message : String(error);
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join('; ');
}
