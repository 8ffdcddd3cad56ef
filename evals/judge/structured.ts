// Structured judge output: the judge must answer with JSON valid against a JSON Schema (ajv). A reply that is not
// valid is first repaired locally (code fences, prose around the object, trailing commas, smart quotes, value
// coercions), and if still invalid the judge is asked again with the validation error, a bounded number of times.
// After that the call fails with a JudgeOutputError that says what was wrong: never a crash, never a guess.
import { SwitchyardError } from '../../core/errors.ts';
import type { ChatClient, ChatMessage, ChatRequest } from '../contracts.ts';
import { compileSchema, describeAjvErrors } from '../metrics/deterministic.ts';

export class JudgeOutputError extends SwitchyardError {
  readonly attempts: number;
  readonly lastOutput: string;
  constructor(message: string, attempts: number, lastOutput: string) {
    super(502, 'upstream_error', message, false, { code: 'judge_output_invalid' });
    this.attempts = attempts;
    this.lastOutput = lastOutput;
  }
}

/** Local fixes for the usual ways models break JSON; returns the candidate strings to try, in order. */
export function repairCandidates(text: string): string[] {
  const candidates = [text.trim()];
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(text);
  if (fenced?.[1] !== undefined) candidates.push(fenced[1].trim());
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start >= 0 && end > start) candidates.push(text.slice(start, end + 1));
  const withoutTrailingCommas = candidates.map((candidate) => candidate.replace(/,\s*([}\]])/g, '$1'));
  const straightQuotes = withoutTrailingCommas.map((candidate) => candidate.replace(/[“”]/g, '"'));
  return [...new Set([...candidates, ...withoutTrailingCommas, ...straightQuotes])];
}

export type ParseOutcome<T> = { ok: true; value: T; repaired: boolean } | { ok: false; error: string };

export function parseStructured<T>(
  text: string,
  schema: Record<string, unknown>,
  coerce: (value: unknown) => unknown = (value) => value,
): ParseOutcome<T> {
  const validate = compileSchema(schema);
  let lastError = 'no JSON object found in the reply';
  for (const [index, candidate] of repairCandidates(text).entries()) {
    let value: unknown;
    try {
      value = JSON.parse(candidate) as unknown;
    } catch (error) {
      lastError = `not JSON: ${error instanceof Error ? error.message : String(error)}`;
      continue;
    }
    const coerced = coerce(value);
    if (validate(coerced)) return { ok: true, value: coerced as T, repaired: index > 0 || coerced !== value };
    lastError = `schema violations: ${describeAjvErrors(validate)}`;
  }
  return { ok: false, error: lastError };
}

export interface StructuredCallOptions {
  client: ChatClient;
  request: ChatRequest;
  schema: Record<string, unknown>;
  coerce?: (value: unknown) => unknown;
  /** Extra judge calls after the first one when the reply stays invalid. */
  maxRetries: number;
  scope: Readonly<Record<string, string | number>>;
}

export async function completeStructured<T>(
  options: StructuredCallOptions,
): Promise<{ value: T; attempts: number; cached: boolean; repaired: boolean }> {
  const messages: ChatMessage[] = [...options.request.messages];
  let lastText = '';
  let lastError = '';
  let allCached = true;
  for (let attempt = 0; attempt <= options.maxRetries; attempt++) {
    const response = await options.client.complete(
      { ...options.request, messages: [...messages] },
      { ...options.scope, attempt },
    );
    allCached &&= response.cached;
    lastText = response.text;
    const parsed = parseStructured<T>(response.text, options.schema, options.coerce);
    if (parsed.ok) return { value: parsed.value, attempts: attempt + 1, cached: allCached, repaired: parsed.repaired };
    lastError = parsed.error;
    messages.push(
      { role: 'assistant', content: response.text },
      {
        role: 'user',
        content: `Your reply was not valid (${parsed.error}). Reply again with only the JSON object, nothing else.`,
      },
    );
  }
  throw new JudgeOutputError(
    `judge output invalid after ${options.maxRetries + 1} attempt(s): ${lastError}`,
    options.maxRetries + 1,
    lastText,
  );
}
