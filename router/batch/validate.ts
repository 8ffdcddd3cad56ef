// Validation of a batch input file (JSONL): every line is a JSON object with a unique `custom_id`, `method: "POST"`,
// a `url` equal to the batch's endpoint and an object `body`; line count and line size are limited. Errors name
// their 1-based line, as OpenAI's batch `errors.data[].line` does.
import type { BatchEndpoint } from './contracts.ts';
import type { BatchErrorEntry, ParsedLine } from './store.ts';

export interface ValidationLimits {
  maxLines: number;
  maxLineBytes: number;
  maxReportedErrors: number;
}

export type ValidationResult =
  { ok: true; lines: ParsedLine[]; model: string | null } | { ok: false; errors: BatchErrorEntry[] };

export function validateBatchInput(
  content: Buffer,
  endpoint: BatchEndpoint,
  limits: ValidationLimits,
): ValidationResult {
  const errors: BatchErrorEntry[] = [];
  let errorCount = 0;
  const report = (code: string, message: string, line: number | null, param: string | null = null): void => {
    errorCount++;
    if (errors.length < limits.maxReportedErrors) errors.push({ code, message, param, line });
  };
  const lines: ParsedLine[] = [];
  const seen = new Map<string, number>();
  let model: string | null = null;
  let start = 0;
  let lineNumber = 0;
  let nonEmpty = 0;
  while (start < content.length) {
    let end = content.indexOf(0x0a, start);
    if (end === -1) end = content.length;
    lineNumber++;
    const bytes = end - start;
    const raw = content.subarray(start, end).toString('utf8').replace(/\r$/, '');
    start = end + 1;
    if (raw.trim() === '') continue;
    nonEmpty++;
    if (nonEmpty > limits.maxLines) {
      report('too_many_requests', `The input file has more than the limit of ${limits.maxLines} requests.`, lineNumber);
      break;
    }
    if (bytes > limits.maxLineBytes) {
      report(
        'line_too_large',
        `Line ${lineNumber} is ${bytes} bytes, over the limit of ${limits.maxLineBytes} bytes.`,
        lineNumber,
      );
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (error) {
      report('invalid_json_line', `Line ${lineNumber} is not valid JSON: ${(error as Error).message}`, lineNumber);
      continue;
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      report('invalid_request', `Line ${lineNumber} must be a JSON object.`, lineNumber);
      continue;
    }
    const record = parsed as Record<string, unknown>;
    const customId = record['custom_id'];
    if (typeof customId !== 'string' || customId === '') {
      report(
        'missing_required_parameter',
        `Line ${lineNumber}: \`custom_id\` must be a non-empty string.`,
        lineNumber,
        'custom_id',
      );
      continue;
    }
    const previous = seen.get(customId);
    if (previous !== undefined) {
      report(
        'duplicate_custom_id',
        `Line ${lineNumber}: custom_id "${customId}" is already used on line ${previous}.`,
        lineNumber,
        'custom_id',
      );
      continue;
    }
    seen.set(customId, lineNumber);
    if (record['method'] !== 'POST') {
      report('invalid_method', `Line ${lineNumber}: \`method\` must be "POST".`, lineNumber, 'method');
      continue;
    }
    if (record['url'] !== endpoint) {
      report(
        'mismatched_url',
        `Line ${lineNumber}: \`url\` ${JSON.stringify(record['url'])} does not match the batch endpoint ${endpoint}.`,
        lineNumber,
        'url',
      );
      continue;
    }
    const body = record['body'];
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      report('missing_required_parameter', `Line ${lineNumber}: \`body\` must be a JSON object.`, lineNumber, 'body');
      continue;
    }
    const bodyModel = (body as Record<string, unknown>)['model'];
    if (typeof bodyModel !== 'string' || bodyModel === '') {
      report(
        'missing_required_parameter',
        `Line ${lineNumber}: \`body.model\` must be a non-empty string.`,
        lineNumber,
        'body.model',
      );
      continue;
    }
    if ((body as Record<string, unknown>)['stream'] === true) {
      report(
        'invalid_request',
        `Line ${lineNumber}: streaming is not supported in batches.`,
        lineNumber,
        'body.stream',
      );
      continue;
    }
    model ??= bodyModel;
    lines.push({ line: lineNumber, customId, body: JSON.stringify(body), model: bodyModel });
  }
  if (errorCount > errors.length) {
    errors.push({
      code: 'more_errors',
      message: `${errorCount - errors.length} more errors not shown.`,
      param: null,
      line: null,
    });
  }
  if (errorCount === 0 && lines.length === 0) {
    errors.push({ code: 'empty_file', message: 'The input file contains no requests.', param: null, line: null });
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, lines, model };
}
