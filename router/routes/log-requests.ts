// Every answered chat/completions request goes into the request log (chained ones are logged by the chain itself with
// their steps), so feedback and `eval add-case --from-request` work for any request id the router handed out. The
// wrapper sits around the generation handler: it sees the client's body, the router's request id and model, the
// prompt version governance rendered (x-switchyard-prompt) and, when bodies are logged, the answer text the client saw:
// parsed from a JSON answer, or taken from the SSE relay (routes/context.ts `streamedAnswer`) for a plain stream.
import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GenerationHandler } from './generation.ts';
import { requestContext, type RequestContext } from './context.ts';
import { HEADER_PROMPT } from '../governance/governance.ts';
import type { LoggedRequest, RequestLogging } from '../chain/request-log.ts';
import { isoNow } from '../observability/request-log.ts';

/** One ISO timestamp per millisecond for every logged request (a Date and its formatting per request otherwise). */
const timestamp = isoNow();

export function withRequestLog(
  handler: GenerationHandler,
  logging: RequestLogging,
  governed: boolean,
): GenerationHandler {
  const { requestLog } = logging;
  if (requestLog === undefined) return handler;
  if (!governed) {
    // Without governance no prompt header is rendered and no cache answers: the respond stage leaves the JSON answer
    // in the request's context, so nothing on the response is wrapped per request.
    // Not async: an async wrapper is one more generator and promise per request.
    return function loggedGeneration(request, response, requestBody): Promise<void> {
      return handler(request, response, requestBody).then(() => {
        if (logging.chained.has(response) || response.statusCode >= 300) return;
        const context = requestContext(response);
        // A stream's text comes from the relay; a JSON answer from the respond stage.
        const answer = !logging.logBodies
          ? undefined
          : (context.streamedAnswer ?? (context.answer === undefined ? undefined : answerOf(context.answer)));
        requestLog.appendSoon(logEntry(context, undefined, logging.logBodies, requestBody, answer));
      });
    };
  }
  return async function loggedGovernedGeneration(
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
    // The JSON answer as sent (a cache hit's too) is kept only when bodies are logged: one reference, no copy.
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
    requestLog.appendSoon(logEntry(context, prompt, logging.logBodies, requestBody, answer));
  };
}

interface Answer {
  id: string | undefined;
  text: string;
}

function logEntry(
  context: RequestContext,
  prompt: unknown,
  logBodies: boolean,
  requestBody: unknown,
  answer: Answer | undefined,
): LoggedRequest {
  // One literal (no spreads); JSON.stringify leaves the undefined fields out.
  const bodies = logBodies && typeof requestBody === 'object' && requestBody !== null;
  const entry = {
    type: 'request',
    id: context.requestId,
    response_id: answer?.id,
    timestamp: timestamp(),
    model: context.model === '' ? null : context.model,
    prompts: typeof prompt === 'string' ? { prompt: prompt.split(';')[0] ?? prompt } : {},
    // Serialised at once by the log (it keeps the line, not the object): no copy needed.
    request: bodies ? (requestBody as Record<string, unknown>) : undefined,
    response: bodies && answer !== undefined ? { choices: [{ message: { content: answer.text } }] } : undefined,
    latency_ms: Math.round(performance.now() - context.startedAt),
  } as LoggedRequest;
  return entry;
}

/** The completion's id and its first choice's text (chat message or completion text). */
function answerOf(json: {
  id?: unknown;
  choices?: Array<{ message?: { content?: unknown }; text?: unknown }>;
}): Answer {
  const first = Array.isArray(json.choices) ? json.choices[0] : undefined;
  const content = first?.message?.content ?? first?.text;
  return { id: typeof json.id === 'string' ? json.id : undefined, text: typeof content === 'string' ? content : '' };
}

/** The JSON answer as sent (governed path). */
function parseAnswer(text: string): Answer | undefined {
  try {
    return answerOf(JSON.parse(text) as Parameters<typeof answerOf>[0]);
  } catch {
    return undefined;
  }
}
