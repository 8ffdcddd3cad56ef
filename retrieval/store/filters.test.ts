import { describe, expect, it } from 'vitest';
import { boundValue, compileFilters, FiltersSchema } from './filters.ts';

const NOW = Date.parse('2026-11-27T00:00:00Z');

describe('filters', () => {
  it('resolves relative and ISO dates against the injected clock', () => {
    expect(boundValue('last_modified', 'now-90d', NOW)).toBe(NOW - 90 * 86_400_000);
    expect(boundValue('last_modified', 'now+2h', NOW)).toBe(NOW + 2 * 3_600_000);
    expect(boundValue('last_modified', '2026-01-01', NOW)).toBe(Date.parse('2026-01-01'));
    expect(() => boundValue('last_modified', 'last week', NOW)).toThrow(/not a date/);
    expect(boundValue('team', 'platform', NOW)).toBe('platform');
  });

  it('compiles equality, sets and ranges into parameterised SQL', () => {
    const compiled = compileFilters(
      FiltersSchema.parse({
        document_id: 'a.md',
        team: { in: ['x', 'y'] },
        minutes: { gte: 10, lt: 60 },
        draft: false,
      }),
      NOW,
    );
    expect(compiled.sql).toBe(
      'SELECT key FROM chunks WHERE document_id = ? INTERSECT ' +
        'SELECT key FROM chunk_metadata WHERE name = ? AND (value_text = ? OR value_text = ?) INTERSECT ' +
        'SELECT key FROM chunk_metadata WHERE name = ? AND value_number >= ? AND value_number < ? INTERSECT ' +
        'SELECT key FROM chunk_metadata WHERE name = ? AND value_number = ?',
    );
    expect(compiled.params).toEqual(['a.md', 'team', 'x', 'y', 'minutes', 10, 60, 'draft', 0]);
  });

  it('rejects malformed conditions', () => {
    expect(FiltersSchema.safeParse({ team: { between: [1, 2] } }).success).toBe(false);
    expect(FiltersSchema.safeParse({ team: {} }).success).toBe(false);
    expect(FiltersSchema.safeParse({ team: { in: [] } }).success).toBe(false);
  });
});
