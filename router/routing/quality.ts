// Quality checks a non-streamed response must pass when the request implies them; a failure escalates the request
// to the next pool of its route (the next tier). Only what the request itself asked for is checked.

export type QualityCheck = 'empty' | 'invalid_json' | 'truncated';

interface Choice {
  message?: { content?: unknown; tool_calls?: unknown };
  text?: unknown;
  finish_reason?: unknown;
}

export function failedQualityCheck(
  endpoint: 'chat' | 'completions',
  request: Readonly<Record<string, unknown>>,
  response: Readonly<Record<string, unknown>>,
): QualityCheck | null {
  const choices = Array.isArray(response['choices']) ? (response['choices'] as Choice[]) : [];
  const first = choices[0];
  if (!first) return 'empty';
  const toolCalls = first.message?.tool_calls;
  const hasToolCalls = Array.isArray(toolCalls) && toolCalls.length > 0;
  const text = endpoint === 'chat' ? first.message?.content : first.text;
  if (!hasToolCalls && (typeof text !== 'string' || text.trim() === '')) return 'empty';
  const format = request['response_format'] as { type?: unknown } | null | undefined;
  if (!hasToolCalls && (format?.type === 'json_object' || format?.type === 'json_schema') && typeof text === 'string') {
    try {
      JSON.parse(text);
    } catch {
      return 'invalid_json';
    }
  }
  const callerLimit = request['max_tokens'] ?? request['max_completion_tokens'];
  if (first.finish_reason === 'length' && (callerLimit === undefined || callerLimit === null)) return 'truncated';
  return null;
}
