// The shared HTML shell of every report: inline CSS, no script, no external resource.
import { escapeXml } from './svg.ts';

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#111827;max-width:1340px;margin:24px auto;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}.meta{color:#4b5563}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #e5e7eb;padding:4px 8px;text-align:right}
th{background:#f9fafb}td:first-child,th:first-child{text-align:left}table.text td,table.text th{text-align:left;vertical-align:top}
.charts{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0;border:1px solid #e5e7eb;padding:4px}
figcaption{font-size:12px;color:#4b5563;max-width:640px;padding:4px}
code,pre{background:#f3f4f6;border-radius:3px}pre{padding:8px;overflow-x:auto}
.verdict-holds{color:#15803d;font-weight:600}.verdict-fails{color:#b91c1c;font-weight:600}.verdict-conditional{color:#b45309;font-weight:600}
`;

export function htmlPage(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeXml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

/** A table; `text` left-aligns every column (prose), otherwise numbers are right-aligned. */
export function htmlTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  kind: 'numbers' | 'text' = 'numbers',
): string {
  const head = `<tr>${headers.map((header) => `<th>${escapeXml(header)}</th>`).join('')}</tr>`;
  const bodyRows = rows
    .map((row) => `<tr>${row.map((cell) => `<td>${escapeXml(cell)}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table${kind === 'text' ? ' class="text"' : ''}>\n${head}\n${bodyRows}\n</table>`;
}

export function figure(chart: string, caption: string): string {
  return `<figure>${chart}<figcaption>${escapeXml(caption)}</figcaption></figure>`;
}
