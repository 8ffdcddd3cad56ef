// Reads the handful of vLLM Prometheus series the scheduler needs, in both metric-name generations:
//   KV usage:     vllm:kv_cache_usage_perc (v1, ≥0.10)      | vllm:gpu_cache_usage_perc (v0 and early v1, deprecated)
//   prefix cache: vllm:prefix_cache_{queries,hits}_total   | vllm:gpu_prefix_cache_{queries,hits}_total
//   queues:       vllm:num_requests_running, vllm:num_requests_waiting (same in both)
// When a server exports both generations (the deprecation period), the newer name wins. Series from several engines
// (data parallel, `engine="0"`, `engine="1"`…) are summed, except KV usage, which is averaged (each engine owns an
// equal share of the cache). A character scan over the body (decoded once, latin1: one string per page): no string
// per line, no label objects; the only other allocation is the text of a value that is not a plain decimal.
import { Buffer } from 'node:buffer';
import { MalformedUpstreamReplyError } from '../../../core/errors.ts';
import type { EndpointMetrics } from '../contracts.ts';
import { parseLoraRequestsInfo } from './parse-lora.ts';

/** The metrics page cannot be read: the scraper keeps it as the backend's scrape error (the backend goes stale). */
export class VllmMetricsParseError extends MalformedUpstreamReplyError {}

const RUNNING = 0;
const WAITING = 1;
const KV_NEW = 2;
const KV_OLD = 3;
const QUERIES_NEW = 4;
const QUERIES_OLD = 5;
const HITS_NEW = 6;
const HITS_OLD = 7;
const FIELDS = 8;

/** Series name → field; `_total` is how prometheus_client exposes counters, some exporters drop it. */
const SERIES: ReadonlyArray<readonly [string, number]> = [
  ['vllm:num_requests_running', RUNNING],
  ['vllm:num_requests_waiting', WAITING],
  ['vllm:kv_cache_usage_perc', KV_NEW],
  ['vllm:gpu_cache_usage_perc', KV_OLD],
  ['vllm:prefix_cache_queries_total', QUERIES_NEW],
  ['vllm:prefix_cache_hits_total', HITS_NEW],
  ['vllm:gpu_prefix_cache_queries_total', QUERIES_OLD],
  ['vllm:gpu_prefix_cache_hits_total', HITS_OLD],
  ['vllm:prefix_cache_queries', QUERIES_NEW],
  ['vllm:prefix_cache_hits', HITS_NEW],
  ['vllm:gpu_prefix_cache_queries', QUERIES_OLD],
  ['vllm:gpu_prefix_cache_hits', HITS_OLD],
] as const;

const MODEL_NAME_KEY = 'model_name';
/** Exact powers of ten (doubles represent 10^0…10^22 exactly): the fast path of decimal parsing. */
const POW10 = Array.from({ length: 23 }, (_, exponent) => 10 ** exponent);

const CH_NEWLINE = 0x0a;
const CH_RETURN = 0x0d;
const CH_SPACE = 0x20;
const CH_TAB = 0x09;
const CH_QUOTE = 0x22;
const CH_BACKSLASH = 0x5c;
const CH_OPEN = 0x7b;
const CH_CLOSE = 0x7d;
const CH_COMMA = 0x2c;

/**
 * A reusable parser for one backend's page: the model name is encoded once, the accumulators are preallocated, and
 * `parse` can write into the caller's EndpointMetrics instead of making a new one.
 */
export class VllmMetricsReader {
  /** The model name as the page's characters spell it: its UTF-8 bytes as latin1 (bodies are decoded as latin1). */
  private readonly modelBytes: string | undefined;
  private readonly sums = new Float64Array(FIELDS);
  private readonly counts = new Uint32Array(FIELDS);
  /** A model_name seen instead of the wanted one (for the error message). */
  private otherModel: string | undefined;

  constructor(readonly modelName?: string) {
    this.modelBytes = modelName === undefined ? undefined : Buffer.from(modelName, 'utf8').toString('latin1');
  }

  /** Parses `text.charCodeAt(0, length)` (a response body as it arrived); throws VllmMetricsParseError when the queue or KV-usage series are missing. */
  parse(bytes: Uint8Array, length: number, scrapedAt: number, into?: EndpointMetrics): EndpointMetrics {
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, length).toString('latin1');
    return this.parseText(text, this.modelBytes, scrapedAt, into);
  }

  /** Parses a page already decoded as a JS string; `model` is matched against label values as they are. */
  parseText(text: string, model: string | undefined, scrapedAt: number, into?: EndpointMetrics): EndpointMetrics {
    const { sums, counts } = this;
    sums.fill(0);
    counts.fill(0);
    this.otherModel = undefined;
    const length = text.length;
    let lineStart = 0;
    while (lineStart < length) {
      let lineEnd = text.indexOf('\n', lineStart);
      if (lineEnd === -1) lineEnd = length;
      // Only vllm:n… vllm:k… vllm:g… vllm:p… can matter; histograms (time_…, e2e_…, request_…, iteration_…) are
      // most of a real page and are skipped on one character.
      const sixth = text.charCodeAt(lineStart + 5);
      if (
        (sixth === 0x6e || sixth === 0x6b || sixth === 0x67 || sixth === 0x70) &&
        text.charCodeAt(lineStart) === 0x76 &&
        text.charCodeAt(lineStart + 4) === 0x3a
      ) {
        this.sample(text, lineStart, lineEnd, model);
      }
      lineStart = lineEnd + 1;
    }
    const target = this.result(scrapedAt, into);
    // The LoRA gauge is decoded only on pages that carry it (servers started with --enable-lora).
    const lora = text.includes(LORA_SERIES) ? parseLoraRequestsInfo(text) : undefined;
    if (lora) target.lora = lora;
    else delete target.lora;
    return target;
  }

  private sample(text: string, start: number, end: number, model: string | undefined): void {
    let cursor = start;
    while (cursor < end) {
      const code = text.charCodeAt(cursor);
      if (code === CH_OPEN || code === CH_SPACE || code === CH_TAB) break;
      cursor++;
    }
    const field = seriesField(text, start, cursor);
    if (field < 0) return;
    let modelMatches = true;
    if (text.charCodeAt(cursor) === CH_OPEN) {
      cursor++;
      // Labels: key="value" pairs; values may contain escaped quotes, commas and braces.
      while (cursor < end && text.charCodeAt(cursor) !== CH_CLOSE) {
        const equals = text.indexOf('=', cursor);
        if (equals === -1 || equals >= end || text.charCodeAt(equals + 1) !== CH_QUOTE) return;
        const valueStart = equals + 2;
        let valueEnd = valueStart;
        while (valueEnd < end && text.charCodeAt(valueEnd) !== CH_QUOTE)
          valueEnd += text.charCodeAt(valueEnd) === CH_BACKSLASH ? 2 : 1;
        if (valueEnd >= end) return;
        if (model !== undefined && isKey(text, cursor, equals, MODEL_NAME_KEY)) {
          modelMatches = escapedEquals(text, valueStart, valueEnd, model);
          if (!modelMatches) this.otherModel ??= text.slice(valueStart, valueEnd);
        }
        cursor = valueEnd + 1;
        if (text.charCodeAt(cursor) === CH_COMMA) cursor++;
      }
      cursor++;
    }
    if (!modelMatches) return;
    while (cursor < end && (text.charCodeAt(cursor) === CH_SPACE || text.charCodeAt(cursor) === CH_TAB)) cursor++;
    let valueEnd = cursor;
    while (valueEnd < end) {
      const code = text.charCodeAt(valueEnd);
      if (code === CH_SPACE || code === CH_TAB || code === CH_RETURN) break;
      valueEnd++;
    }
    const value = parseNumber(text, cursor, valueEnd);
    if (Number.isNaN(value)) return;
    this.sums[field]! += value;
    this.counts[field]!++;
  }

  private result(scrapedAt: number, into: EndpointMetrics | undefined): EndpointMetrics {
    const { sums, counts } = this;
    const kv = counts[KV_NEW]! > 0 ? KV_NEW : KV_OLD;
    if (counts[RUNNING] === 0 || counts[WAITING] === 0 || counts[kv] === 0) {
      const missing = [
        counts[RUNNING] === 0 && 'num_requests_running',
        counts[WAITING] === 0 && 'num_requests_waiting',
        counts[kv] === 0 && 'kv_cache_usage_perc',
      ]
        .filter(Boolean)
        .join(', ');
      const other = this.otherModel === undefined ? undefined : unescapeLabel(this.otherModel);
      const hint = other !== undefined ? ` (found series for model_name="${other}" instead)` : '';
      throw new VllmMetricsParseError(
        `vLLM metrics missing ${missing}${this.modelName !== undefined ? ` for model_name="${this.modelName}"` : ''}${hint}`,
      );
    }
    const queries = counts[QUERIES_NEW]! > 0 ? QUERIES_NEW : QUERIES_OLD;
    const hits = counts[HITS_NEW]! > 0 ? HITS_NEW : HITS_OLD;
    const target = into ?? ({} as EndpointMetrics);
    target.requestsRunning = sums[RUNNING]!;
    target.requestsWaiting = sums[WAITING]!;
    target.kvCacheUsage = clamp01(sums[kv]! / counts[kv]!);
    target.prefixCacheQueries = sums[queries]!;
    target.prefixCacheHits = sums[hits]!;
    target.scrapedAt = scrapedAt;
    return target;
  }
}

/**
 * Parse a vLLM `/metrics` page. With `modelName`, only series labelled `model_name="<modelName>"` count (a server
 * may serve several models, e.g. LoRA adapters share a base). Throws VllmMetricsParseError when the page has no
 * queue or KV-usage series (not a vLLM server, or the wrong model name).
 */
export function parseVllmMetrics(text: string, modelName?: string, scrapedAt: number = Date.now()): EndpointMetrics {
  return new VllmMetricsReader(modelName).parseText(text, modelName, scrapedAt);
}

const LORA_SERIES = 'vllm:lora_requests_info{';

function seriesField(text: string, start: number, end: number): number {
  const length = end - start;
  outer: for (const [name, field] of SERIES) {
    if (name.length !== length) continue;
    // 'vllm:' is already known to match; compare from the end, where the names differ.
    for (let index = length - 1; index >= 5; index--)
      if (text.charCodeAt(start + index) !== name.charCodeAt(index)) continue outer;
    return field;
  }
  return -1;
}

function isKey(text: string, start: number, end: number, key: string): boolean {
  while (start < end && (text.charCodeAt(start) === CH_SPACE || text.charCodeAt(start) === CH_TAB)) start++;
  while (end > start && (text.charCodeAt(end - 1) === CH_SPACE || text.charCodeAt(end - 1) === CH_TAB)) end--;
  if (end - start !== key.length) return false;
  for (let index = 0; index < key.length; index++)
    if (text.charCodeAt(start + index) !== key.charCodeAt(index)) return false;
  return true;
}

/** Whether the escaped label value text.charCodeAt(start, end) decodes to `expected` (\n, \" and \\ escapes). */
function escapedEquals(text: string, start: number, end: number, expected: string): boolean {
  let position = 0;
  for (let cursor = start; cursor < end; cursor++) {
    let code = text.charCodeAt(cursor);
    if (code === CH_BACKSLASH && cursor + 1 < end) {
      cursor++;
      code = text.charCodeAt(cursor) === 0x6e ? CH_NEWLINE : text.charCodeAt(cursor);
    }
    if (position >= expected.length || expected.charCodeAt(position) !== code) return false;
    position++;
  }
  return position === expected.length;
}

function unescapeLabel(raw: string): string {
  return raw.replace(/\\(.)/g, (_match, escaped: string) => (escaped === 'n' ? '\n' : escaped));
}

/**
 * A Prometheus sample value. Plain decimals with ≤ 15 significant digits and a small exponent are computed exactly
 * (one correctly rounded multiply or divide of exact doubles, the same result as Number()); anything else (+Inf,
 * long mantissas) goes through Number() on its text. NaN for an empty or malformed value (and for `NaN`).
 */
function parseNumber(text: string, start: number, end: number): number {
  if (start >= end) return NaN;
  let cursor = start;
  let negative = false;
  if (text.charCodeAt(cursor) === 0x2d || text.charCodeAt(cursor) === 0x2b) {
    negative = text.charCodeAt(cursor) === 0x2d;
    cursor++;
  }
  let mantissa = 0;
  let digits = 0;
  let fraction = 0;
  let seenDigit = false;
  let seenPoint = false;
  for (; cursor < end; cursor++) {
    const code = text.charCodeAt(cursor);
    if (code >= 0x30 && code <= 0x39) {
      seenDigit = true;
      if (mantissa === 0 && code === 0x30 && !seenPoint) continue;
      if (digits >= 15) return slowNumber(text, start, end);
      mantissa = mantissa * 10 + (code - 0x30);
      if (mantissa > 0) digits++;
      if (seenPoint) fraction++;
    } else if (code === 0x2e && !seenPoint) {
      seenPoint = true;
    } else break;
  }
  if (!seenDigit) return slowNumber(text, start, end);
  let exponent = 0;
  if (cursor < end) {
    if (text.charCodeAt(cursor) !== 0x65 && text.charCodeAt(cursor) !== 0x45) return slowNumber(text, start, end);
    cursor++;
    let exponentNegative = false;
    if (text.charCodeAt(cursor) === 0x2d || text.charCodeAt(cursor) === 0x2b) {
      exponentNegative = text.charCodeAt(cursor) === 0x2d;
      cursor++;
    }
    if (cursor >= end) return NaN;
    for (; cursor < end; cursor++) {
      const code = text.charCodeAt(cursor);
      if (code < 0x30 || code > 0x39) return NaN;
      exponent = exponent * 10 + (code - 0x30);
      if (exponent > 400) return slowNumber(text, start, end);
    }
    if (exponentNegative) exponent = -exponent;
  }
  const scale = exponent - fraction;
  let value: number;
  if (scale === 0) value = mantissa;
  else if (scale > 0 && scale <= 22) value = mantissa * POW10[scale]!;
  else if (scale < 0 && scale >= -22) value = mantissa / POW10[-scale]!;
  else return slowNumber(text, start, end);
  return negative ? -value : value;
}

function slowNumber(source: string, start: number, end: number): number {
  const text = source.slice(start, end);
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === '' || text === 'NaN') return NaN;
  return Number(text);
}

function clamp01(value: number): number {
  return value < 0 ? 0 : value > 1 ? 1 : value;
}
