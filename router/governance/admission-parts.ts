// Pieces of admission and settlement that need no Governance state: the request span and the prompt token count.
import type { AdmitContext, Admission } from './contracts.ts';
import type { KeyRecord } from './keys/store.ts';
import { countChatTokens, countPromptTokens } from './tokens.ts';
import { endSpan } from './observability/tracing.ts';

/** The request span's name, model, attributes and parent (the caller's trace context). */
export function requestSpanArguments(
  context: AdmitContext,
  model: string,
  key: KeyRecord | undefined,
  maxTokens: number,
  body: Record<string, unknown>,
  prompt: Admission['prompt'],
) {
  const name =
    context.endpoint === 'chat' ? 'chat' : context.endpoint === 'completions' ? 'text_completion' : 'embeddings';
  const attributes = {
    'switchyard.request_id': context.requestId,
    ...(key ? { 'switchyard.key_id': key.id, 'switchyard.team': key.team } : {}),
    ...(maxTokens > 0 ? { 'gen_ai.request.max_tokens': maxTokens } : {}),
    ...(typeof body['temperature'] === 'number' ? { 'gen_ai.request.temperature': body['temperature'] } : {}),
    ...(prompt ? { 'switchyard.prompt.name': prompt.name, 'switchyard.prompt.version': prompt.version } : {}),
  };
  return [name, model, attributes, context.trace] as const;
}

/** Prompt tokens of a chat, completion or embeddings body (tiktoken when `exact`, else an estimate). */
export function countRequestTokens(
  endpoint: AdmitContext['endpoint'],
  body: Record<string, unknown>,
  exact: boolean,
): number {
  if (endpoint === 'chat' && Array.isArray(body['messages'])) {
    return countChatTokens(body['messages'] as Array<Record<string, unknown>>, body['tools'], exact);
  }
  return countPromptTokens(endpoint === 'completions' ? body['prompt'] : body['input'], exact);
}

/** Ends the request's span (when it records) with the answer's status and attributes. */
export function finishSpan(
  admission: Admission,
  status: number,
  attributes: Record<string, string | number | boolean | undefined>,
): void {
  if (!admission.span || !admission.span.isRecording()) return;
  endSpan(admission.span, status, attributes);
}
