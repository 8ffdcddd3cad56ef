import { describe, expect, it } from 'vitest';
import { validateBatchInput } from './validate.ts';

const limits = { maxLines: 5, maxLineBytes: 400, maxReportedErrors: 10 };
const line = (customId: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({
    custom_id: customId,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'm', messages: [] },
    ...extra,
  });

describe('validateBatchInput', () => {
  it('accepts a valid file, skipping blank lines, keeping 1-based line numbers and the first model', () => {
    const result = validateBatchInput(Buffer.from(`${line('a')}\n\n${line('b')}\r\n`), '/v1/chat/completions', limits);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.lines.map((item) => [item.line, item.customId])).toEqual([
      [1, 'a'],
      [3, 'b'],
    ]);
    expect(result.model).toBe('m');
  });

  it('names the line of every kind of bad line', () => {
    const content = [
      line('a'),
      '{not json',
      line('a'),
      line('c', { url: '/v1/embeddings' }),
      line('d', { method: 'GET' }),
      JSON.stringify({ custom_id: 'e', method: 'POST', url: '/v1/chat/completions' }),
      line('f', { body: { model: 'm', padding: 'x'.repeat(500) } }),
      line('g', { body: { model: 'm', stream: true } }),
    ].join('\n');
    const result = validateBatchInput(Buffer.from(content), '/v1/chat/completions', { ...limits, maxLines: 100 });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((error) => [error.line, error.code])).toEqual([
      [2, 'invalid_json_line'],
      [3, 'duplicate_custom_id'],
      [4, 'mismatched_url'],
      [5, 'invalid_method'],
      [6, 'missing_required_parameter'],
      [7, 'line_too_large'],
      [8, 'invalid_request'],
    ]);
    expect(result.errors[1]!.message).toContain('line 1');
  });

  it('enforces the line limit and caps the reported errors', () => {
    const many = Array.from({ length: 7 }, (_, index) => line(`id-${index}`)).join('\n');
    const tooMany = validateBatchInput(Buffer.from(many), '/v1/chat/completions', limits);
    expect(tooMany.ok).toBe(false);
    if (!tooMany.ok) expect(tooMany.errors[0]).toMatchObject({ code: 'too_many_requests', line: 6 });
    const broken = Array.from({ length: 20 }, () => '[').join('\n');
    const capped = validateBatchInput(Buffer.from(broken), '/v1/chat/completions', {
      ...limits,
      maxLines: 100,
      maxReportedErrors: 3,
    });
    expect(capped.ok).toBe(false);
    if (!capped.ok) {
      expect(capped.errors).toHaveLength(4);
      expect(capped.errors[3]).toMatchObject({ code: 'more_errors', message: '17 more errors not shown.' });
    }
  });

  it('rejects an empty file', () => {
    const result = validateBatchInput(Buffer.from('\n\n'), '/v1/completions', limits);
    expect(result).toEqual({
      ok: false,
      errors: [{ code: 'empty_file', message: 'The input file contains no requests.', param: null, line: null }],
    });
  });
});
