// Request bodies of the OpenAI endpoints the router serves, as zod schemas. Loose objects: fields the router does
// not know are passed on to the backend untouched (vLLM extras such as `top_k`, `guided_json`, new OpenAI fields).
// Only what the router itself relies on, or what would otherwise reach an upstream as nonsense, is checked.
//
// zod is the one definition. On the hot path a body is first checked by the same schema compiled to plain code
// (z.toJSONSchema → ajv, once per schema): a pass accepts the body as it is; a failure runs zod, whose first issue
// becomes the error. In profiles of the router, zod's generic parse cost ~4 % of the CPU per request and the
// compiled check a tenth of it. schemas.test.ts checks that both agree on a corpus of valid and broken bodies.
// `npm run build` precompiles the pass-through checks to ajv's standalone code (scripts/precompile-checks.ts), so the
// compiled router neither loads ajv nor compiles at start-up (compiling them took ~0.5 s of CPU per start); the
// sources compile them on first use.
import { createRequire } from 'node:module';
import type { Ajv as AjvClass, Options as AjvOptions, ValidateFunction } from 'ajv';
import { z } from 'zod';
import { InvalidRequestError } from './errors.ts';

const ContentPart = z.looseObject({ type: z.string(), text: z.string().optional() });

export const ChatMessage = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  content: z.union([z.string(), z.array(ContentPart), z.null()]).optional(),
  name: z.string().optional(),
  tool_calls: z.array(z.looseObject({ id: z.string().optional(), type: z.string().optional() })).optional(),
  tool_call_id: z.string().optional(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

const TokenLimit = z.number().int().positive().nullish();
const Stop = z.union([z.string(), z.array(z.string()).max(16)]).nullish();

const StreamOptions = z.looseObject({ include_usage: z.boolean().nullish() }).nullish();

const Sampling = {
  stream: z.boolean().nullish(),
  stream_options: StreamOptions,
  max_tokens: TokenLimit,
  n: z.number().int().min(1).max(128).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  seed: z.number().int().nullish(),
  stop: Stop,
  user: z.string().nullish(),
};

export const ChatCompletionRequest = z.looseObject({
  model: z.string().min(1),
  messages: z.array(ChatMessage).min(1),
  ...Sampling,
  max_completion_tokens: TokenLimit,
  tools: z
    .array(z.looseObject({ type: z.string(), function: z.looseObject({ name: z.string().min(1) }).optional() }))
    .nullish(),
  tool_choice: z.union([z.enum(['none', 'auto', 'required']), z.looseObject({ type: z.string() })]).nullish(),
  response_format: z.looseObject({ type: z.enum(['text', 'json_object', 'json_schema']) }).nullish(),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;

export const CompletionRequest = z.looseObject({
  model: z.string().min(1),
  prompt: z.union([
    z.string(),
    z.array(z.string()).min(1),
    z.array(z.number().int().nonnegative()).min(1),
    z.array(z.array(z.number().int().nonnegative())).min(1),
  ]),
  ...Sampling,
  echo: z.boolean().nullish(),
  suffix: z.string().nullish(),
});
export type CompletionRequest = z.infer<typeof CompletionRequest>;

export const EmbeddingRequest = z.looseObject({
  model: z.string().min(1),
  input: z.union([
    z.string(),
    z.array(z.string()).min(1),
    z.array(z.number().int()).min(1),
    z.array(z.array(z.number().int())).min(1),
  ]),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().positive().nullish(),
  user: z.string().nullish(),
});
export type EmbeddingRequest = z.infer<typeof EmbeddingRequest>;

/** `messages[0].role` from a zod path, as OpenAI names parameters. */
function paramName(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text;
}

/** ajv's settings for the checks, at start-up or at build time (scripts/precompile-checks.ts). */
export const CHECK_AJV_OPTIONS: AjvOptions = { strict: false, allErrors: false };
/** The JSON Schema a check is compiled from: the input side of the zod schema. */
export function checkJsonSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { target: 'draft-7', io: 'input' });
}

/**
 * The schemas whose parse changes nothing (no defaults, transforms or coercion, which a yes/no check would skip):
 * only these take the compiled check. schemas.test.ts keeps it so (their input and output JSON Schemas are equal).
 * Their names key the precompiled checks.
 */
export const PASS_THROUGH_BY_NAME: Readonly<Record<string, z.ZodType>> = {
  ChatCompletionRequest,
  CompletionRequest,
  EmbeddingRequest,
};
export const PASS_THROUGH_SCHEMAS: ReadonlySet<z.ZodType> = new Set<z.ZodType>(Object.values(PASS_THROUGH_BY_NAME));

/** Beside the compiled module, written by `npm run build`. */
export const PRECOMPILED_CHECKS_FILE = 'openai-checks.precompiled.cjs';
const require = createRequire(import.meta.url);
const compiled = new WeakMap<z.ZodType, ValidateFunction>();
let ajv: AjvClass | undefined;
let precompiled: Readonly<Record<string, ValidateFunction>> | undefined;

function loadPrecompiledChecks(): Readonly<Record<string, ValidateFunction>> {
  if (import.meta.url.endsWith('.ts')) return {};
  try {
    return require(`./${PRECOMPILED_CHECKS_FILE}`) as Record<string, ValidateFunction>;
  } catch (error) {
    // A build without the file (tsc alone) compiles at start-up as the sources do.
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return {};
    throw error;
  }
}

function compileCheck(schema: z.ZodType): ValidateFunction {
  precompiled ??= loadPrecompiledChecks();
  const name = Object.keys(PASS_THROUGH_BY_NAME).find((key) => PASS_THROUGH_BY_NAME[key] === schema);
  const ready = name === undefined ? undefined : precompiled[name];
  if (ready) return ready;
  if (!ajv) {
    const { Ajv } = require('ajv') as { Ajv: typeof AjvClass };
    ajv = new Ajv(CHECK_AJV_OPTIONS);
  }
  return ajv.compile(checkJsonSchema(schema));
}

/**
 * The schema's compiled check: precompiled by the build, or compiled by ajv on first use (the router asks for its
 * pass-through checks at start-up, see `compilePassThroughChecks`, so no request pays the ~50 ms compile).
 */
export function compiledCheck(schema: z.ZodType): ValidateFunction {
  let check = compiled.get(schema);
  if (!check) {
    check = compileCheck(schema);
    compiled.set(schema, check);
  }
  return check;
}

export function compilePassThroughChecks(): void {
  for (const schema of PASS_THROUGH_SCHEMAS) compiledCheck(schema);
}

/**
 * Validates a parsed JSON body; the first problem becomes a 400 naming the parameter. A body that passes a
 * pass-through schema's compiled check is returned as it is (zod's output would be an equal copy); any other schema
 * (with defaults, say) is parsed by zod.
 */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidRequestError('The request body must be a JSON object (send Content-Type: application/json).', {
      code: 'invalid_body',
    });
  }
  if (PASS_THROUGH_SCHEMAS.has(schema) && compiledCheck(schema)(body)) return body as T;
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = issue ? paramName(issue.path) : '';
  const detail = issue ? issue.message : 'invalid body';
  const missing = issue?.code === 'invalid_type' && issue.message.includes('undefined');
  throw new InvalidRequestError(
    missing ? `Missing required parameter: '${param}'.` : `Invalid value for '${param || 'body'}': ${detail}.`,
    { param: param || null, code: missing ? 'missing_required_parameter' : 'invalid_value' },
  );
}
