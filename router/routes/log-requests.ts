// Every answered chat/completions request goes into the request log (chained ones are logged by the chain itself with
// their steps), so feedback and `eval add-case --from-request` work for any request id the router handed out. The
// wrapper sits around the generation handler: it sees the client's body, the router's request id and model, the
// prompt version governance rendered (x-switchyard-prompt) and, when bodies are logged, the answer text the client saw:
// parsed from a JSON answer, or taken from the SSE relay (routes/context.ts `streamedAnswer`) for a plain stream.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GenerationHandler } from './generation.ts';
import { requestContext } from './context.ts';
import { HEADER_PROMPT } from '../governance/governance.ts';
import type { LoggedRequest, RequestLogging } from '../chain/request-log.ts';

export function withRequestLog(handler: GenerationHandler, logging: RequestLogging): GenerationHandler {
  const { requestLog } = logging;
  if (requestLog === undefined) return handler;
  return async function loggedGeneration(
    request: IncomingMessage,
    response: ServerResponse,
    requestBody: unknown,
  ): Promise<void> {
    // The hot path passes its headers to writeHead (getHeader cannot see them): the prompt header is read there.
    let prompt: unknown = response.getHeader(HEADER_PROMPT);
    const writeHead = response.writeHead.bind(response) as (...args: unknown[]) => ServerResponse;
    response.writeHead = ((...args: unknown[]) => {
      const headers = args.find((arg) => typeof arg === 'object' && arg !== null && !Array.isArray(arg)) as
        Record<string, unknown> | undefined;
      if (headers?.[HEADER_PROMPT] !== undefined) prompt = headers[HEADER_PROMPT];
      return writeHead(...args);
    }) as typeof response.writeHead;
    // The JSON answer is kept only when bodies are logged: one reference, no copy.
    let payload: unknown;
    if (logging.logBodies) {
      const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
      response.end = ((...args: unknown[]) => {
        if (typeof args[0] === 'string' || Buffer.isBuffer(args[0])) payload = args[0];
        return end(...args);
      }) as typeof response.end;
    }
    await handler(request, response, requestBody);
    if (logging.chained.has(response) || response.statusCode >= 300) return;
    const context = requestContext(response);
    // A stream's text comes from the relay (the payload seen here is only its last event); a JSON answer is parsed.
    const answer = !logging.logBodies
      ? undefined
      : (context.streamedAnswer ?? (payload === undefined ? undefined : parseAnswer(String(payload))));
    const entry: LoggedRequest = {
      type: 'request',
      id: context.requestId,
      ...(answer?.id === undefined ? {} : { response_id: answer.id }),
      timestamp: new Date().toISOString(),
      model: context.model === '' ? null : context.model,
      prompts: typeof prompt === 'string' ? { prompt: prompt.split(';')[0] ?? prompt } : {},
      ...(logging.logBodies && typeof requestBody === 'object' && requestBody !== null
        ? {
            request: { ...(requestBody as Record<string, unknown>) },
            ...(answer === undefined ? {} : { response: { choices: [{ message: { content: answer.text } }] } }),
          }
        : {}),
      latency_ms: Math.round(performance.now() - context.startedAt),
    };
    requestLog.appendSoon(entry);
  };
}

/** The completion's id and its first choice's text (chat message or completion text). */
function parseAnswer(text: string): { id: string | undefined; text: string } | undefined {
  try {
    const json = JSON.parse(text) as {
      id?: unknown;
      choices?: Array<{ message?: { content?: unknown }; text?: unknown }>;
    };
    const first = json.choices?.[0];
    const content = first?.message?.content ?? first?.text;
    return { id: typeof json.id === 'string' ? json.id : undefined, text: typeof content === 'string' ? content : '' };
  } catch {
    return undefined;
  }
}
