// Metadata filters → SQL over the chunk store. Equality (`{"lang": "en"}`), sets (`{"tag": {"in": ["a", "b"]}}`),
// numeric and date ranges (`{"last_modified": {"gte": "now-90d"}}`, ISO dates, epoch ms). Built-in fields are columns;
// any other field is looked up in the chunk_metadata table (array values match any element).
import { z } from 'zod';
import { InvalidRequestError } from '../errors.ts';

const Scalar = z.union([z.string(), z.number(), z.boolean()]);
const Bound = z.union([z.number(), z.string()]);
const RangeSchema = z
  .object({ gt: Bound, gte: Bound, lt: Bound, lte: Bound })
  .partial()
  .strict()
  .refine((range) => Object.keys(range).length > 0, { message: 'a range needs at least one of gt, gte, lt, lte' });
export const FilterConditionSchema = z.union([
  Scalar,
  z.object({ eq: Scalar }).strict(),
  z.object({ in: z.array(Scalar).min(1) }).strict(),
  RangeSchema,
]);
export const FiltersSchema = z.record(z.string().min(1), FilterConditionSchema);
export type Filters = z.infer<typeof FiltersSchema>;

/** Built-in filter fields and their columns (snake_case and camelCase both accepted). */
const COLUMNS: Record<string, { column: string; date: boolean }> = {
  document_id: { column: 'document_id', date: false },
  documentId: { column: 'document_id', date: false },
  title: { column: 'title', date: false },
  source_path: { column: 'source_path', date: false },
  sourcePath: { column: 'source_path', date: false },
  source_url: { column: 'source_url', date: false },
  last_modified: { column: 'last_modified', date: true },
  lastModified: { column: 'last_modified', date: true },
  token_count: { column: 'token_count', date: false },
  position: { column: 'position', date: false },
};

export interface CompiledFilter {
  /** A SELECT returning the admitted chunk keys: one indexed SELECT per condition, intersected. */
  sql: string;
  params: (string | number)[];
}

const RELATIVE = /^now(?:([+-])(\d+)([smhdw]))?$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A bound as a number: numbers as is; "now-90d" relative to the clock; ISO dates as epoch ms. */
export function boundValue(field: string, value: number | string, now: number): number | string {
  if (typeof value === 'number') return value;
  const relative = RELATIVE.exec(value);
  if (relative !== null) {
    const offset = relative[1] === undefined ? 0 : Number(relative[2]) * (UNIT_MS[relative[3] as string] as number);
    return relative[1] === '-' ? now - offset : now + offset;
  }
  const parsed = Date.parse(value);
  if (!Number.isNaN(parsed) && /^\d{4}-\d{2}-\d{2}/.test(value)) return parsed;
  if (COLUMNS[field]?.date === true) {
    throw new InvalidRequestError(`filters.${field}: "${value}" is not a date (use ISO 8601, epoch ms or now-90d)`, {
      param: `filters.${field}`,
    });
  }
  return value;
}

function normaliseScalar(value: string | number | boolean): string | number {
  return typeof value === 'boolean' ? (value ? 1 : 0) : value;
}

/** Compiles validated filters into one key query; each condition is its own indexed SELECT, intersected. */
export function compileFilters(filters: Filters, now: number): CompiledFilter {
  const selects: string[] = [];
  const params: (string | number)[] = [];
  for (const [field, condition] of Object.entries(filters)) {
    const builtin = COLUMNS[field];
    // Metadata values are stored as text or number (booleans as 0/1), one row per array element.
    const valueColumn = (value: string | number): string => (typeof value === 'number' ? 'value_number' : 'value_text');
    const select = (predicate: string, values: (string | number)[]): void => {
      if (builtin) {
        selects.push(`SELECT key FROM chunks WHERE ${predicate}`);
        params.push(...values);
      } else {
        selects.push(`SELECT key FROM chunk_metadata WHERE name = ? AND ${predicate}`);
        params.push(field, ...values);
      }
    };
    const column = (value: string | number): string => builtin?.column ?? valueColumn(value);
    if (typeof condition !== 'object' || 'eq' in condition) {
      const raw = normaliseScalar(typeof condition === 'object' ? condition.eq : condition);
      const value = builtin?.date ? boundValue(field, raw, now) : raw;
      select(`${column(value)} = ?`, [value]);
    } else if ('in' in condition) {
      const values = condition.in.map(normaliseScalar);
      select(`(${values.map((value) => `${column(value)} = ?`).join(' OR ')})`, values);
    } else {
      const comparisons: string[] = [];
      const bounds: (string | number)[] = [];
      const operators = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
      for (const [name, operator] of Object.entries(operators) as [keyof typeof operators, string][]) {
        const bound = condition[name];
        if (bound === undefined) continue;
        const value = boundValue(field, bound, now);
        comparisons.push(`${column(value)} ${operator} ?`);
        bounds.push(value);
      }
      select(comparisons.join(' AND '), bounds);
    }
  }
  return { sql: selects.length === 0 ? 'SELECT key FROM chunks' : selects.join(' INTERSECT '), params };
}
