// The vLLM metrics parser as it was at commit d3f1306 (router/scheduling/metrics/parse-vllm.ts), the baseline of
// benchmarks/scrape-cost.ts: a line scan over a string body.
// Reads the handful of vLLM Prometheus series the scheduler needs, in both metric-name generations:
//   KV usage:     vllm:kv_cache_usage_perc (v1, ≥0.10)      | vllm:gpu_cache_usage_perc (v0 and early v1, deprecated)
//   prefix cache: vllm:prefix_cache_{queries,hits}_total   | vllm:gpu_prefix_cache_{queries,hits}_total
//   queues:       vllm:num_requests_running, vllm:num_requests_waiting (same in both)
// When a server exports both generations (the deprecation period), the newer name wins. Series from several engines
// (data parallel, `engine="0"`, `engine="1"`…) are summed, except KV usage, which is averaged (each engine owns an
// equal share of the cache). A line scan, not a general parser: only `vllm:` lines are looked at.
import { MalformedUpstreamReplyError } from '../../core/errors.ts';
import type { EndpointMetrics } from '../../router/scheduling/contracts.ts';

/** The metrics page cannot be read: the scraper keeps it as the backend's scrape error (the backend goes stale). */
export class VllmMetricsParseError extends MalformedUpstreamReplyError {}

type Field = 'running' | 'waiting' | 'kvNew' | 'kvOld' | 'queriesNew' | 'queriesOld' | 'hitsNew' | 'hitsOld';

/** Series name (without `{`) → field; `_total` suffix is how prometheus_client exposes counters. */
const SERIES: ReadonlyMap<string, Field> = new Map<string, Field>([
  ['vllm:num_requests_running', 'running'],
  ['vllm:num_requests_waiting', 'waiting'],
  ['vllm:kv_cache_usage_perc', 'kvNew'],
  ['vllm:gpu_cache_usage_perc', 'kvOld'],
  ['vllm:prefix_cache_queries_total', 'queriesNew'],
  ['vllm:prefix_cache_hits_total', 'hitsNew'],
  ['vllm:gpu_prefix_cache_queries_total', 'queriesOld'],
  ['vllm:gpu_prefix_cache_hits_total', 'hitsOld'],
  // Some exporters (and the first v1 releases) drop the `_total` suffix on the sample line.
  ['vllm:prefix_cache_queries', 'queriesNew'],
  ['vllm:prefix_cache_hits', 'hitsNew'],
  ['vllm:gpu_prefix_cache_queries', 'queriesOld'],
  ['vllm:gpu_prefix_cache_hits', 'hitsOld'],
]);

interface Accumulator {
  sum: number;
  count: number;
}

/**
 * Parse a vLLM `/metrics` page. With `modelName`, only series labelled `model_name="<modelName>"` count (a server
 * may serve several models, e.g. LoRA adapters share a base). Throws VllmMetricsParseError when the page has no
 * queue or KV-usage series (not a vLLM server, or the wrong model name).
 */
export function parseVllmMetrics(text: string, modelName?: string, scrapedAt: number = Date.now()): EndpointMetrics {
  const found = new Map<Field, Accumulator>();
  let seenOtherModel: string | undefined;
  let lineStart = 0;
  const length = text.length;
  while (lineStart < length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd === -1) lineEnd = length;
    // 'v' 'l' 'l' 'm' ':' — cheap prefix test before anything else.
    // Only series starting vllm:n… vllm:k… vllm:g… vllm:p… can matter; histograms (time_…, e2e_…, request_…,
    // iteration_…) are most of a real page and are skipped on one character.
    const first = text.charCodeAt(lineStart + 5);
    if ((first === 0x6e || first === 0x6b || first === 0x67 || first === 0x70) && text.startsWith('vllm:', lineStart)) {
      const sample = parseSampleLine(text, lineStart, lineEnd);
      if (sample) {
        const field = SERIES.get(sample.name);
        if (field !== undefined) {
          if (modelName !== undefined && sample.model !== undefined && sample.model !== modelName) {
            seenOtherModel = sample.model;
          } else {
            const accumulator = found.get(field);
            if (accumulator) {
              accumulator.sum += sample.value;
              accumulator.count++;
            } else {
              found.set(field, { sum: sample.value, count: 1 });
            }
          }
        }
      }
    }
    lineStart = lineEnd + 1;
  }

  const running = found.get('running');
  const waiting = found.get('waiting');
  const kv = found.get('kvNew') ?? found.get('kvOld');
  if (!running || !waiting || !kv) {
    const missing = [
      !running && 'num_requests_running',
      !waiting && 'num_requests_waiting',
      !kv && 'kv_cache_usage_perc',
    ]
      .filter(Boolean)
      .join(', ');
    const hint = seenOtherModel !== undefined ? ` (found series for model_name="${seenOtherModel}" instead)` : '';
    throw new VllmMetricsParseError(
      `vLLM metrics missing ${missing}${modelName !== undefined ? ` for model_name="${modelName}"` : ''}${hint}`,
    );
  }
  const queries = found.get('queriesNew') ?? found.get('queriesOld');
  const hits = found.get('hitsNew') ?? found.get('hitsOld');
  return {
    requestsRunning: running.sum,
    requestsWaiting: waiting.sum,
    kvCacheUsage: clamp01(kv.sum / kv.count),
    prefixCacheQueries: queries?.sum ?? 0,
    prefixCacheHits: hits?.sum ?? 0,
    scrapedAt,
  };
}

interface Sample {
  name: string;
  model: string | undefined;
  value: number;
}

/** `name{label="v",...} value [timestamp]` → name, model_name label, value; undefined for malformed lines. */
function parseSampleLine(text: string, start: number, end: number): Sample | undefined {
  let cursor = start;
  while (cursor < end) {
    const code = text.charCodeAt(cursor);
    if (code === 0x7b /* { */ || code === 0x20 /* space */ || code === 0x09) break;
    cursor++;
  }
  const name = text.slice(start, cursor);
  if (!SERIES.has(name)) return undefined;
  let model: string | undefined;
  if (text.charCodeAt(cursor) === 0x7b) {
    cursor++;
    // Labels: key="value" pairs; values may contain escaped quotes, commas and braces.
    while (cursor < end && text.charCodeAt(cursor) !== 0x7d /* } */) {
      const equals = text.indexOf('=', cursor);
      if (equals === -1 || equals >= end) return undefined;
      const key = text.slice(cursor, equals).trim();
      if (text.charCodeAt(equals + 1) !== 0x22 /* " */) return undefined;
      let valueEnd = equals + 2;
      let value = '';
      let chunkStart = valueEnd;
      while (valueEnd < end && text.charCodeAt(valueEnd) !== 0x22) {
        if (text.charCodeAt(valueEnd) === 0x5c /* \ */) {
          value += text.slice(chunkStart, valueEnd);
          const escaped = text[valueEnd + 1];
          value += escaped === 'n' ? '\n' : (escaped ?? '');
          valueEnd += 2;
          chunkStart = valueEnd;
        } else {
          valueEnd++;
        }
      }
      if (valueEnd >= end) return undefined;
      value += text.slice(chunkStart, valueEnd);
      if (key === 'model_name') model = value;
      cursor = valueEnd + 1;
      if (text.charCodeAt(cursor) === 0x2c /* , */) cursor++;
    }
    cursor++;
  }
  const rest = text.slice(cursor, end).trim();
  const space = rest.indexOf(' ');
  const value = parsePromNumber(space === -1 ? rest : rest.slice(0, space));
  if (value === undefined) return undefined;
  return { name, model, value };
}

function parsePromNumber(raw: string): number | undefined {
  if (raw === '') return undefined;
  if (raw === '+Inf') return Infinity;
  if (raw === '-Inf') return -Infinity;
  if (raw === 'NaN') return undefined;
  const value = Number(raw);
  return Number.isNaN(value) ? undefined : value;
}

function clamp01(value: number): number {
  return value < 0 ? 0 : value > 1 ? 1 : value;
}
