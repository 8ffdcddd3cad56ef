// Tables for people in a terminal, the way `docker ps` prints them: a header, left-aligned text, right-aligned
// numbers, two spaces between columns, no index column and no quotes (console.table shows both).

export type Cell = string | number | boolean | null | undefined;

/** Aligned plain-text table; numbers (and numeric strings) are right-aligned, empty cells print as "-". */
export function formatTable(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((row) => header.map((_, column) => cellText(row[column])));
  const numeric = header.map((_, column) => rows.length > 0 && rows.every((row) => isNumeric(row[column])));
  const widths = header.map((title, column) =>
    Math.max(title.length, ...text.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (numeric[column] ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...text.map(line)].join('\n');
}

function cellText(cell: Cell): string {
  if (cell === null || cell === undefined || cell === '') return '-';
  return String(cell);
}

function isNumeric(cell: Cell): boolean {
  if (cell === null || cell === undefined || cell === '') return true;
  return typeof cell === 'number' || (typeof cell === 'string' && /^[-+]?\$?[\d,]*\.?\d+(e[-+]?\d+)?%?$/i.test(cell));
}
