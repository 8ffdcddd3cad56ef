// Body validation for the retrieval endpoints: the first zod issue becomes an OpenAI-style 400 naming the parameter.
import type { z } from 'zod';
import { InvalidRequestError } from '../errors.ts';

function paramName(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text;
}

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidRequestError('The request body must be a JSON object (send Content-Type: application/json).', {
      code: 'invalid_body',
    });
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = issue === undefined ? '' : paramName(issue.path);
  const missing = issue?.code === 'invalid_type' && issue.message.includes('undefined');
  throw new InvalidRequestError(
    missing ? `Missing required parameter: '${param}'.` : `Invalid value for '${param || 'body'}': ${issue?.message ?? 'invalid body'}.`,
    { param: param || null, code: missing ? 'missing_required_parameter' : 'invalid_value' },
  );
}
