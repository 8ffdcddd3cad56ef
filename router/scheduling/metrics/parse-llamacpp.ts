// Maps llama-server's `--metrics` page and its `GET /slots` list onto the EndpointMetrics the scheduler reads:
//   running   = llamacpp:requests_processing   (slots busy with a request)
//   waiting   = llamacpp:requests_deferred     (requests queued because every slot was busy)
//   prefix    = queries: prompt_tokens_total + prompt_tokens_cached_total, hits: prompt_tokens_cached_total
//   KV usage  = context held by busy slots ÷ the slots' total context, from /slots: this llama-server exports no
//               KV-cache gauge (older versions had llamacpp:kv_cache_usage_ratio, which wins when present).
// A page without the queue gauges, or a /slots body that is not a slot list, throws: the scraper then keeps the
// backend stale and the not-saturated filter drops it (fail closed), with the reason in the scrape error.
import { MalformedUpstreamReplyError } from '../../../core/errors.ts';
import type { EndpointMetrics } from '../contracts.ts';

/** The metrics page cannot be read: the scraper keeps it as the backend's scrape error (the backend goes stale). */
export class LlamaCppMetricsParseError extends MalformedUpstreamReplyError {}

const GAUGES = [
  'llamacpp:requests_processing',
  'llamacpp:requests_deferred',
  'llamacpp:prompt_tokens_total',
  'llamacpp:prompt_tokens_cached_total',
  'llamacpp:kv_cache_usage_ratio',
] as const;
type Gauge = (typeof GAUGES)[number];

/** `name value` lines of the `llamacpp:` series (llama-server writes them without labels). */
export function readLlamaCppSeries(text: string): Map<Gauge, number> {
  const wanted = new Set<string>(GAUGES);
  const found = new Map<Gauge, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('llamacpp:')) continue;
    const match = /^(llamacpp:[a-z_]+)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match || !wanted.has(match[1]!)) continue;
    const value = Number(match[2]);
    if (!Number.isNaN(value)) found.set(match[1] as Gauge, (found.get(match[1] as Gauge) ?? 0) + value);
  }
  return found;
}

export interface SlotUsage {
  /** Context tokens held by slots that are processing a request. */
  busyTokens: number;
  /** Sum of every slot's context size. */
  totalContext: number;
  slots: number;
  busySlots: number;
}

/** Reads `GET /slots`: per slot `n_ctx`, `is_processing`, and (while a task is attached) the tokens it holds. */
export function readSlotUsage(body: unknown): SlotUsage {
  if (!Array.isArray(body)) throw new LlamaCppMetricsParseError('llama-server /slots did not return a slot list');
  let busyTokens = 0;
  let totalContext = 0;
  let busySlots = 0;
  for (const slot of body as unknown[]) {
    if (slot === null || typeof slot !== 'object')
      throw new LlamaCppMetricsParseError('llama-server /slots returned a non-object slot');
    const record = slot as Record<string, unknown>;
    const context = typeof record['n_ctx'] === 'number' ? record['n_ctx'] : 0;
    totalContext += context;
    if (record['is_processing'] !== true) continue;
    busySlots++;
    // The slot's token list: the prompt and every token generated so far (llama-server appends each one to it).
    const held = typeof record['n_prompt_tokens'] === 'number' ? record['n_prompt_tokens'] : 0;
    busyTokens += Math.min(context, held);
  }
  return { busyTokens, totalContext, slots: body.length, busySlots };
}

/** Combines one `/metrics` page and one `/slots` body into EndpointMetrics. */
export function parseLlamaCppMetrics(
  metricsText: string,
  slotsBody: unknown,
  scrapedAt: number = Date.now(),
): EndpointMetrics {
  const series = readLlamaCppSeries(metricsText);
  const running = series.get('llamacpp:requests_processing');
  const waiting = series.get('llamacpp:requests_deferred');
  if (running === undefined || waiting === undefined) {
    const missing = [running === undefined && 'requests_processing', waiting === undefined && 'requests_deferred']
      .filter(Boolean)
      .join(', ');
    throw new LlamaCppMetricsParseError(
      `llama-server metrics missing llamacpp:${missing} (is it started with --metrics?)`,
    );
  }
  const exported = series.get('llamacpp:kv_cache_usage_ratio');
  let kvCacheUsage: number;
  if (exported !== undefined) {
    kvCacheUsage = exported;
  } else {
    const slots = readSlotUsage(slotsBody);
    kvCacheUsage = slots.totalContext > 0 ? slots.busyTokens / slots.totalContext : 0;
  }
  const processed = series.get('llamacpp:prompt_tokens_total') ?? 0;
  const cached = series.get('llamacpp:prompt_tokens_cached_total') ?? 0;
  return {
    requestsRunning: running,
    requestsWaiting: waiting,
    kvCacheUsage: Math.min(1, Math.max(0, kvCacheUsage)),
    prefixCacheQueries: processed + cached,
    prefixCacheHits: cached,
    scrapedAt,
  };
}
