// A reader for the Prometheus text exposition format (version 0.0.4): enough for exporters' `/metrics` (samples with
// labels, comments, escapes, NaN/Inf, optional timestamps). It does not validate HELP/TYPE consistency.

export interface PromSample {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

function parseValue(raw: string): number {
  if (raw === 'NaN') return Number.NaN;
  if (raw === '+Inf' || raw === 'Inf') return Number.POSITIVE_INFINITY;
  if (raw === '-Inf') return Number.NEGATIVE_INFINITY;
  const value = Number(raw);
  if (raw === '' || Number.isNaN(value)) throw new Error(`not a number: "${raw}"`);
  return value;
}

/** Parse the `{a="x",b="y"}` part starting at `text[start] === '{'`; returns the labels and the index after `}`. */
function parseLabels(text: string, start: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let at = start + 1;
  for (;;) {
    while (text[at] === ' ' || text[at] === ',') at++;
    if (text[at] === '}') return { labels, end: at + 1 };
    const nameMatch = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(at));
    if (!nameMatch) throw new Error(`bad label name at column ${at + 1}`);
    const name = nameMatch[0];
    at += name.length;
    while (text[at] === ' ') at++;
    if (text[at] !== '=' || text[at + 1] !== '"') throw new Error(`expected ="…" after label ${name}`);
    at += 2;
    let value = '';
    while (at < text.length && text[at] !== '"') {
      if (text[at] === '\\') {
        const next = text[at + 1];
        value += next === 'n' ? '\n' : (next ?? '');
        at += 2;
      } else {
        value += text[at];
        at++;
      }
    }
    if (text[at] !== '"') throw new Error(`unterminated value of label ${name}`);
    labels[name] = value;
    at++;
  }
}

export function parsePrometheusText(body: string): PromSample[] {
  const samples: PromSample[] = [];
  const lines = body.split(/\r?\n/);
  for (let lineIndex = 0; lineIndex < lines.length; lineIndex++) {
    const line = lines[lineIndex]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    try {
      const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
      if (!nameMatch) throw new Error('bad metric name');
      const name = nameMatch[0];
      let at = name.length;
      let labels: Record<string, string> = {};
      if (line[at] === '{') {
        const parsed = parseLabels(line, at);
        labels = parsed.labels;
        at = parsed.end;
      }
      const [valueText] = line.slice(at).trim().split(/\s+/);
      samples.push({ name, labels, value: parseValue(valueText ?? '') });
    } catch (error) {
      throw new Error(`Prometheus text line ${lineIndex + 1}: ${(error as Error).message}: ${line}`, { cause: error });
    }
  }
  return samples;
}
