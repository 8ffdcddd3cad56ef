// Stage 1: deterministic checks. Cheap, exact, no model: JSON + JSON Schema (ajv), required fields, token length
// (tiktoken), regex, language (franc-min), exact / contains / starts-with.
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { franc, francAll } from 'franc-min';
import { iso6393, iso6393To1 } from 'iso-639-3';
import { get_encoding, type Tiktoken, type TiktokenEncoding } from 'tiktoken';
import { z } from 'zod';
import { canonicalJson } from '../canonical.ts';
import type { EvalMetric, MetricInput } from '../contracts.ts';

// ajv-formats is CommonJS with a default export; under NodeNext the namespace object is what we get.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const caseOption = { ignoreCase: z.boolean().default(false), trim: z.boolean().default(true) };

function normalize(text: string, options: { ignoreCase: boolean; trim: boolean }): string {
  const trimmed = options.trim ? text.trim() : text;
  return options.ignoreCase ? trimmed.toLowerCase() : trimmed;
}

function expectedValue(input: MetricInput, value: string | undefined): string {
  const expected = value ?? input.case.expected;
  if (expected === undefined) throw new Error('no `value` given and the case has no `expected`');
  return expected;
}

const quote = (text: string, max = 60): string => JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);

export const equalsMetric: EvalMetric<{ value?: string | undefined; ignoreCase: boolean; trim: boolean }> = {
  name: 'equals',
  stage: 'deterministic',
  description: 'output equals `value` (or the case `expected`)',
  params: z.strictObject({ value: z.string().optional(), ...caseOption }),
  evaluate(input, params) {
    const expected = expectedValue(input, params.value);
    const pass = normalize(input.output, params) === normalize(expected, params);
    return { pass, score: pass ? 1 : 0, reason: pass ? 'exact match' : `expected ${quote(expected)}` };
  },
};

export const containsMetric: EvalMetric<{
  value?: string | undefined;
  values?: string[] | undefined;
  mode: 'all' | 'any';
  ignoreCase: boolean;
}> = {
  name: 'contains',
  stage: 'deterministic',
  description: 'output contains `value` / all (or any) of `values` (or the case `expected`); score = share found',
  params: z.strictObject({
    value: z.string().min(1).optional(),
    values: z.array(z.string().min(1)).min(1).optional(),
    mode: z.enum(['all', 'any']).default('all'),
    ignoreCase: z.boolean().default(false),
  }),
  evaluate(input, params) {
    const needles = params.values ?? [expectedValue(input, params.value)];
    const haystack = params.ignoreCase ? input.output.toLowerCase() : input.output;
    const missing = needles.filter((needle) => !haystack.includes(params.ignoreCase ? needle.toLowerCase() : needle));
    const found = needles.length - missing.length;
    const pass = params.mode === 'all' ? missing.length === 0 : found > 0;
    const score = params.mode === 'all' ? found / needles.length : found > 0 ? 1 : 0;
    return {
      pass,
      score,
      reason: pass ? `found ${found}/${needles.length}` : `missing ${missing.map((m) => quote(m)).join(', ')}`,
    };
  },
};

export const notContainsMetric: EvalMetric<{ values: string[]; ignoreCase: boolean }> = {
  name: 'not-contains',
  stage: 'deterministic',
  description: 'output contains none of `values`',
  params: z.strictObject({ values: z.array(z.string().min(1)).min(1), ignoreCase: z.boolean().default(false) }),
  evaluate(input, params) {
    const haystack = params.ignoreCase ? input.output.toLowerCase() : input.output;
    const present = params.values.filter((v) => haystack.includes(params.ignoreCase ? v.toLowerCase() : v));
    const pass = present.length === 0;
    return {
      pass,
      score: 1 - present.length / params.values.length,
      reason: pass ? 'none present' : `contains ${present.map((p) => quote(p)).join(', ')}`,
    };
  },
};

export const startsWithMetric: EvalMetric<{ value?: string | undefined; ignoreCase: boolean; trim: boolean }> = {
  name: 'starts-with',
  stage: 'deterministic',
  description: 'output starts with `value` (or the case `expected`)',
  params: z.strictObject({ value: z.string().min(1).optional(), ...caseOption }),
  evaluate(input, params) {
    const expected = expectedValue(input, params.value);
    const pass = normalize(input.output, params).startsWith(normalize(expected, params));
    return { pass, score: pass ? 1 : 0, reason: pass ? 'prefix matches' : `does not start with ${quote(expected)}` };
  },
};

const regexParams = z
  .strictObject({
    pattern: z.string().min(1),
    flags: z
      .string()
      .regex(/^[dgimsuvy]*$/)
      .default(''),
  })
  .refine(
    (params) => {
      try {
        new RegExp(params.pattern, params.flags);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'not a valid JavaScript regular expression' },
  );

export const regexMetric: EvalMetric<{ pattern: string; flags: string }> = {
  name: 'regex',
  stage: 'deterministic',
  description: 'output matches the regular expression `pattern` (JavaScript syntax, optional `flags`)',
  params: regexParams,
  evaluate(input, params) {
    const match = new RegExp(params.pattern, params.flags).exec(input.output);
    return match
      ? { pass: true, score: 1, reason: `matched ${quote(match[0])}` }
      : { pass: false, score: 0, reason: `no match for /${params.pattern}/${params.flags}` };
  },
};

export const notRegexMetric: EvalMetric<{ pattern: string; flags: string }> = {
  name: 'not-regex',
  stage: 'deterministic',
  description: 'output does not match the regular expression `pattern`',
  params: regexParams,
  evaluate(input, params) {
    const match = new RegExp(params.pattern, params.flags).exec(input.output);
    return match
      ? { pass: false, score: 0, reason: `unexpected match ${quote(match[0])}` }
      : { pass: true, score: 1, reason: `no match for /${params.pattern}/${params.flags}` };
  },
};

/** Parses the output as JSON; with `extract`, a ```json fenced block or the outermost {...}/[...] is used. */
export function parseJsonOutput(
  output: string,
  extract: boolean,
): { ok: true; value: unknown } | { ok: false; error: string } {
  const candidates = [output.trim()];
  if (extract) {
    const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(output);
    if (fenced?.[1] !== undefined) candidates.push(fenced[1].trim());
    const start = output.search(/[[{]/);
    const end = Math.max(output.lastIndexOf('}'), output.lastIndexOf(']'));
    if (start >= 0 && end > start) candidates.push(output.slice(start, end + 1));
  }
  let lastError = 'empty output';
  for (const candidate of candidates) {
    try {
      return { ok: true, value: JSON.parse(candidate) as unknown };
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
  }
  return { ok: false, error: lastError };
}

export const isJsonMetric: EvalMetric<{ extract: boolean }> = {
  name: 'is-json',
  stage: 'deterministic',
  description: 'output parses as JSON (`extract: true` also accepts a fenced or embedded JSON block)',
  params: z.strictObject({ extract: z.boolean().default(false) }),
  evaluate(input, params) {
    const parsed = parseJsonOutput(input.output, params.extract);
    return parsed.ok
      ? { pass: true, score: 1, reason: 'valid JSON' }
      : { pass: false, score: 0, reason: `invalid JSON: ${parsed.error}` };
  },
};

// One ajv instance; compiled validators are reused per schema (keyed by canonical JSON).
const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));
const validators = new Map<string, ValidateFunction>();

export function compileSchema(schema: Record<string, unknown>): ValidateFunction {
  const key = canonicalJson(schema);
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile(schema);
    validators.set(key, validate);
  }
  return validate;
}

export function describeAjvErrors(validate: ValidateFunction): string {
  return (validate.errors ?? [])
    .slice(0, 5)
    .map((error) => `${error.instancePath || '/'} ${error.message ?? 'invalid'}`)
    .join('; ');
}

const jsonSchemaParams = z
  .strictObject({ schema: z.record(z.string(), z.unknown()), extract: z.boolean().default(false) })
  .refine(
    (params) => {
      try {
        compileSchema(params.schema);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'not a valid JSON Schema (ajv could not compile it)' },
  );

export const jsonSchemaMetric: EvalMetric<{ schema: Record<string, unknown>; extract: boolean }> = {
  name: 'json-schema',
  stage: 'deterministic',
  description: 'output is JSON valid against `schema` (JSON Schema draft-07/2019-09 via ajv, with formats)',
  params: jsonSchemaParams,
  evaluate(input, params) {
    const parsed = parseJsonOutput(input.output, params.extract);
    if (!parsed.ok) return { pass: false, score: 0, reason: `invalid JSON: ${parsed.error}` };
    const validate = compileSchema(params.schema);
    return validate(parsed.value)
      ? { pass: true, score: 1, reason: 'valid against schema' }
      : { pass: false, score: 0, reason: `schema violations: ${describeAjvErrors(validate)}` };
  },
};

function hasPath(value: unknown, path: string): boolean {
  let current: unknown = value;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, part)) return false;
    current = (current as Record<string, unknown>)[part];
  }
  return current !== undefined && current !== null;
}

export const requiredFieldsMetric: EvalMetric<{ fields: string[]; extract: boolean }> = {
  name: 'required-fields',
  stage: 'deterministic',
  description: 'output JSON has every dotted path in `fields` (non-null); score = share present',
  params: z.strictObject({ fields: z.array(z.string().min(1)).min(1), extract: z.boolean().default(false) }),
  evaluate(input, params) {
    const parsed = parseJsonOutput(input.output, params.extract);
    if (!parsed.ok) return { pass: false, score: 0, reason: `invalid JSON: ${parsed.error}` };
    const missing = params.fields.filter((field) => !hasPath(parsed.value, field));
    return {
      pass: missing.length === 0,
      score: 1 - missing.length / params.fields.length,
      reason: missing.length === 0 ? 'all fields present' : `missing ${missing.join(', ')}`,
    };
  },
};

const TOKEN_ENCODINGS = ['cl100k_base', 'o200k_base'] as const satisfies readonly TiktokenEncoding[];
const encoders = new Map<TiktokenEncoding, Tiktoken>();

/** Token count with tiktoken (encoders are created once per process and reused). */
export function countTokens(text: string, encoding: TiktokenEncoding = 'cl100k_base'): number {
  let encoder = encoders.get(encoding);
  if (!encoder) {
    encoder = get_encoding(encoding);
    encoders.set(encoding, encoder);
  }
  return encoder.encode_ordinary(text).length;
}

export const tokenLengthMetric: EvalMetric<{
  min?: number | undefined;
  max?: number | undefined;
  encoding: (typeof TOKEN_ENCODINGS)[number];
}> = {
  name: 'token-length',
  stage: 'deterministic',
  description: 'output length in tokens (tiktoken `encoding`) within [min, max]',
  params: z
    .strictObject({
      min: z.number().int().nonnegative().optional(),
      max: z.number().int().positive().optional(),
      encoding: z.enum(TOKEN_ENCODINGS).default('cl100k_base'),
    })
    .refine((p) => p.min !== undefined || p.max !== undefined, { message: 'give `min`, `max` or both' })
    .refine((p) => p.min === undefined || p.max === undefined || p.min <= p.max, { message: '`min` > `max`' }),
  evaluate(input, params) {
    const tokens = countTokens(input.output, params.encoding);
    const min = params.min ?? 0;
    const max = params.max ?? Number.POSITIVE_INFINITY;
    const pass = tokens >= min && tokens <= max;
    // Score decays with the relative distance outside the window, so "slightly too long" beats "far too long".
    const distance = tokens < min ? (min - tokens) / Math.max(min, 1) : tokens > max ? (tokens - max) / max : 0;
    return {
      pass,
      score: Math.max(0, 1 - distance),
      reason: `${tokens} tokens (${params.encoding}), allowed [${min}, ${Number.isFinite(max) ? max : '∞'}]`,
    };
  },
};

const iso6391To3 = new Map<string, string>(
  iso6393.flatMap((language) => (language.iso6391 ? [[language.iso6391, language.iso6393] as const] : [])),
);

/** Accepts ISO 639-1 ("en") or 639-3 ("eng") and returns the 639-3 code franc reports. */
export function toIso6393(code: string): string | undefined {
  const lower = code.toLowerCase();
  if (lower.length === 2) return iso6391To3.get(lower);
  return iso6393.some((language) => language.iso6393 === lower) ? lower : undefined;
}

export function detectLanguage(text: string, minLength = 10): string {
  return franc(text, { minLength });
}

export const languageMetric: EvalMetric<{ value: string; minLength: number }> = {
  name: 'language',
  stage: 'deterministic',
  description: 'output language (franc-min trigram detector) is `value` (ISO 639-1 or 639-3); short texts fail',
  params: z.strictObject({
    value: z.string().refine((code) => toIso6393(code) !== undefined, { message: 'unknown ISO 639 language code' }),
    minLength: z.number().int().positive().default(10),
  }),
  evaluate(input, params) {
    const expected = toIso6393(params.value) ?? params.value;
    const ranked = francAll(input.output, { minLength: params.minLength });
    const top = ranked[0]?.[0] ?? 'und';
    const name = (code: string) => (iso6393To1[code] ? `${code}/${iso6393To1[code]}` : code);
    if (top === 'und') {
      return { pass: false, score: 0, reason: `language undetermined (text shorter than ${params.minLength} chars?)` };
    }
    // francAll scores are relative to the best candidate (1.0): the expected language's score is the metric score.
    const expectedScore = ranked.find(([code]) => code === expected)?.[1] ?? 0;
    const pass = top === expected;
    return { pass, score: pass ? 1 : expectedScore, reason: `detected ${name(top)}, expected ${name(expected)}` };
  },
};
