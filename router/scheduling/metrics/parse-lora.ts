// vLLM's `vllm:lora_requests_info` gauge: one series per label combination, its value the wall-clock time the engine
// last set it, so old combinations linger and the newest value is the current state (as the Inference Extension reads
// it). Labels: `running_lora_adapters` and `waiting_lora_adapters` (comma-joined adapter names), `max_lora`.
import type { LoraMetrics } from '../contracts.ts';

const SERIES = 'vllm:lora_requests_info{';

/** The newest `vllm:lora_requests_info` series of a metrics page, or undefined when the page has none. */
export function parseLoraRequestsInfo(text: string): LoraMetrics | undefined {
  let best: { value: number; labels: Map<string, string> } | undefined;
  for (let at = text.indexOf(SERIES); at !== -1; at = text.indexOf(SERIES, at + SERIES.length)) {
    if (at > 0 && text.charCodeAt(at - 1) !== 0x0a) continue;
    const lineEnd = text.indexOf('\n', at);
    const line = text.slice(at + SERIES.length, lineEnd === -1 ? text.length : lineEnd);
    const parsed = parseLabelsAndValue(line);
    if (parsed && (!best || parsed.value >= best.value)) best = parsed;
  }
  if (!best) return undefined;
  const maxLoras = Number(best.labels.get('max_lora'));
  return {
    running: splitNames(best.labels.get('running_lora_adapters')),
    waiting: splitNames(best.labels.get('waiting_lora_adapters')),
    maxLoras: Number.isInteger(maxLoras) && maxLoras > 0 ? maxLoras : 1,
  };
}

function splitNames(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
}

/** `key="value",…} value` → labels and value; undefined for a malformed line. */
function parseLabelsAndValue(rest: string): { value: number; labels: Map<string, string> } | undefined {
  const labels = new Map<string, string>();
  let cursor = 0;
  while (cursor < rest.length && rest[cursor] !== '}') {
    const equals = rest.indexOf('=', cursor);
    if (equals === -1 || rest[equals + 1] !== '"') return undefined;
    const key = rest.slice(cursor, equals).trim();
    let end = equals + 2;
    let value = '';
    while (end < rest.length && rest[end] !== '"') {
      if (rest[end] === '\\') {
        const escaped = rest[end + 1];
        value += escaped === 'n' ? '\n' : (escaped ?? '');
        end += 2;
      } else {
        value += rest[end];
        end++;
      }
    }
    if (end >= rest.length) return undefined;
    labels.set(key, value);
    cursor = end + 1;
    if (rest[cursor] === ',') cursor++;
  }
  const value = Number(
    rest
      .slice(cursor + 1)
      .trim()
      .split(/\s+/)[0],
  );
  if (!Number.isFinite(value)) return undefined;
  return { value, labels };
}
