// The request bodies the simulator accepts, as zod schemas mirroring vLLM's pydantic models (unknown fields are
// ignored, as vLLM does). Validation failures become 400 BadRequestError with a pydantic-like message.
import { z } from 'zod';
import { SimError } from './errors.ts';

const ContentPart = z.looseObject({ type: z.string(), text: z.string().optional() });

const ChatMessage = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  content: z.union([z.string(), z.array(ContentPart), z.null()]).optional(),
  name: z.string().optional(),
  tool_calls: z.array(z.unknown()).optional(),
  tool_call_id: z.string().optional(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

const Stop = z.union([z.string(), z.array(z.string()), z.null()]).optional();
const StreamOptions = z
  .looseObject({ include_usage: z.boolean().nullish(), continuous_usage_stats: z.boolean().nullish() })
  .nullish();

const FunctionTool = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({
    name: z.string().min(1),
    description: z.string().nullish(),
    parameters: z.record(z.string(), z.unknown()).nullish(),
  }),
});
export type FunctionTool = z.infer<typeof FunctionTool>;

const ToolChoice = z
  .union([
    z.enum(['none', 'auto', 'required']),
    z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) }),
  ])
  .nullish();

const ResponseFormat = z
  .looseObject({
    type: z.enum(['text', 'json_object', 'json_schema']),
    json_schema: z
      .looseObject({
        name: z.string().optional(),
        schema: z.record(z.string(), z.unknown()).optional(),
        strict: z.boolean().nullish(),
      })
      .optional(),
  })
  .nullish();

/** Sampling and generation fields shared by both endpoints. */
const Generation = {
  model: z.string().nullish(),
  max_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  n: z.number().int().min(1).nullish(),
  stream: z.boolean().nullish(),
  stream_options: StreamOptions,
  stop: Stop,
  seed: z.number().int().nullish(),
  ignore_eos: z.boolean().nullish(),
  min_tokens: z.number().int().min(0).nullish(),
  presence_penalty: z.number().nullish(),
  frequency_penalty: z.number().nullish(),
  user: z.string().nullish(),
};

export const ChatCompletionRequest = z.looseObject({
  ...Generation,
  messages: z.array(ChatMessage).min(1),
  max_completion_tokens: z.number().int().min(1).nullish(),
  tools: z.array(FunctionTool).nullish(),
  tool_choice: ToolChoice,
  response_format: ResponseFormat,
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;

export const CompletionRequest = z.looseObject({
  ...Generation,
  prompt: z.union([
    z.string(),
    z.array(z.string()).min(1),
    z.array(z.number().int().min(0)).min(1),
    z.array(z.array(z.number().int().min(0)).min(1)).min(1),
  ]),
  echo: z.boolean().nullish(),
  suffix: z.string().nullish(),
  logprobs: z.number().int().min(0).max(20).nullish(),
});
export type CompletionRequest = z.infer<typeof CompletionRequest>;

/** Parse or throw a 400 in vLLM's style ("1 validation error for ChatCompletionRequest\nmessages\n  Field required"). */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown, modelName: string): T {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new SimError(
      'bad_request',
      `1 validation error for ${modelName}\n  Input should be a valid dictionary or object`,
    );
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const lines = issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join('.') : '(body)';
    const input = valueAt(body, issue.path);
    if (input === undefined) return `${path}\n  Field required [type=missing]`;
    const shown = JSON.stringify(input)?.slice(0, 60) ?? String(input);
    if (issue.code === 'invalid_type') {
      return `${path}\n  Input should be a valid ${issue.expected} [type=${issue.expected}_type, input_value=${shown}]`;
    }
    return `${path}\n  ${issue.message} [type=${issue.code}, input_value=${shown}]`;
  });
  const first = issues[0];
  const param = first && first.path.length > 0 ? String(first.path[0]) : null;
  throw new SimError(
    'bad_request',
    `${issues.length} validation error${issues.length === 1 ? '' : 's'} for ${modelName}\n${lines.join('\n')}`,
    { param },
  );
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** Message content as plain text (text parts joined; images and audio contribute nothing here). */
export function messageText(message: ChatMessage): string {
  const { content } = message;
  let text = '';
  if (typeof content === 'string') text = content;
  else if (Array.isArray(content))
    text = content.map((part) => (typeof part.text === 'string' ? part.text : '')).join('');
  if (message.tool_calls && message.tool_calls.length > 0) text += JSON.stringify(message.tool_calls);
  return text;
}

export function stopList(stop: string | string[] | null | undefined): string[] {
  if (stop === null || stop === undefined) return [];
  return typeof stop === 'string' ? [stop] : stop;
}
