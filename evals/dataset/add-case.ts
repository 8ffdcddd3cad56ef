// `eval add-case --from-request <id>`: turns a logged production request into an eval case, so every bug becomes
// a test. It reads the router's request log (`requestLog:`), in the format documented in evals/README.md:
// JSONL, one request per line, {id | request_id, timestamp?, model?, request: {model, messages, ...params},
// response?: {choices: [{message: {content}}]} | {text}, output?}.
import { appendFile, readFile } from 'node:fs/promises';
import { z } from 'zod';
import { InvalidRequestError, NotFoundError } from '../../core/errors.ts';
import { ChatMessageSchema, EvalCaseSchema, type EvalCase } from './schema.ts';

const LoggedRequestSchema = z.object({
  id: z.string().optional(),
  request_id: z.string().optional(),
  timestamp: z.union([z.string(), z.number()]).optional(),
  model: z.string().optional(),
  request: z.looseObject({ model: z.string().optional(), messages: z.array(ChatMessageSchema).min(1) }),
  response: z
    .looseObject({
      choices: z
        .array(z.looseObject({ message: z.looseObject({ content: z.string().nullable().optional() }) }))
        .optional(),
      text: z.string().optional(),
    })
    .optional(),
  output: z.string().optional(),
});
type LoggedRequest = z.infer<typeof LoggedRequestSchema>;

function loggedOutput(entry: LoggedRequest): string | undefined {
  if (entry.output !== undefined) return entry.output;
  if (!entry.response) return undefined;
  return entry.response.text ?? entry.response.choices?.[0]?.message.content ?? undefined;
}

/** Finds one request in a JSONL log; malformed lines are skipped (a log is append-only and may end torn). */
export function findLoggedRequest(logText: string, requestId: string): LoggedRequest {
  let loggedWithoutBody = false;
  for (const line of logText.split(/\r?\n/)) {
    if (!line.includes(requestId)) continue;
    let json: unknown;
    try {
      json = JSON.parse(line) as unknown;
    } catch {
      continue;
    }
    const parsed = LoggedRequestSchema.safeParse(json);
    if (parsed.success && (parsed.data.id ?? parsed.data.request_id) === requestId) return parsed.data;
    const entry = json as { id?: unknown; request?: unknown } | null;
    if (entry?.id === requestId && entry.request === undefined) loggedWithoutBody = true;
  }
  if (loggedWithoutBody) {
    throw new NotFoundError(
      `request ${requestId} was logged without its messages: the router keeps them only with \`requestLog.bodies: true\` in its config`,
      { code: 'request_body_not_logged' },
    );
  }
  throw new NotFoundError(`request ${requestId} is not in the request log`, { code: 'request_not_found' });
}

export interface AddCaseOptions {
  requestId: string;
  caseId?: string;
  tags?: readonly string[];
  /** Keep the logged answer as the case's reference (only when that answer was right). */
  referenceFromResponse?: boolean;
}

export function caseFromLoggedRequest(entry: LoggedRequest, options: AddCaseOptions): EvalCase {
  const output = loggedOutput(entry);
  const model = entry.request.model ?? entry.model;
  const candidate = {
    id: options.caseId ?? `req-${options.requestId}`,
    input: { messages: entry.request.messages },
    ...(options.referenceFromResponse && output !== undefined ? { reference: output } : {}),
    tags: ['from-production', ...(options.tags ?? [])],
    assertions: [],
    metadata: {
      requestId: options.requestId,
      ...(entry.timestamp === undefined ? {} : { loggedAt: entry.timestamp }),
      ...(model === undefined ? {} : { loggedModel: model }),
      ...(output === undefined ? {} : { loggedOutput: output }),
    },
  };
  return EvalCaseSchema.parse(candidate);
}

export async function addCaseFromRequest(
  logPath: string,
  casesPath: string,
  options: AddCaseOptions,
): Promise<EvalCase> {
  const logText = await readFile(logPath, 'utf8').catch(() => {
    throw new InvalidRequestError(`cannot read request log ${logPath}`);
  });
  const evalCase = caseFromLoggedRequest(findLoggedRequest(logText, options.requestId), options);
  const existing = await readFile(casesPath, 'utf8').catch(() => '');
  for (const line of existing.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    try {
      if ((JSON.parse(line) as { id?: unknown }).id === evalCase.id) {
        throw new InvalidRequestError(`${casesPath} already has a case "${evalCase.id}"`);
      }
    } catch (error) {
      if (error instanceof InvalidRequestError) throw error;
    }
  }
  const separator = existing === '' || existing.endsWith('\n') ? '' : '\n';
  await appendFile(casesPath, `${separator}${JSON.stringify(evalCase)}\n`);
  return evalCase;
}
