// Request bodies of the OpenAI endpoints the router serves, as zod schemas. Loose objects: fields the router does
// not know are passed on to the backend untouched (vLLM extras such as `top_k`, `guided_json`, new OpenAI fields).
// Only what the router itself relies on, or what would otherwise reach an upstream as nonsense, is checked.
import { z } from 'zod';
import { InvalidRequestError } from '../errors.ts';

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
  tool_choice: z
    .union([z.enum(['none', 'auto', 'required']), z.looseObject({ type: z.string() })])
    .nullish(),
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

/** Validates a parsed JSON body; the first problem becomes a 400 naming the parameter. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidRequestError(
      'The request body must be a JSON object (send Content-Type: application/json).',
      { code: 'invalid_body' },
    );
  }
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
