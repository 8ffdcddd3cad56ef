// The scheduling profile: which filters, scorers (with weights) and picker run, plus the scrape and affinity knobs.
// Validated once at start-up; every plugin entry accepts the short form `name` or `{ type: name, ...params }`.
import { z } from 'zod';

/** A bare string `"healthy"` is shorthand for `{ type: "healthy" }`. */
function shorthand(value: unknown): unknown {
  return typeof value === 'string' ? { type: value } : value;
}

export const FilterConfig = z.preprocess(
  shorthand,
  z.discriminatedUnion('type', [
    z.object({ type: z.literal('healthy') }).strict(),
    z.object({ type: z.literal('serves-model') }).strict(),
    z.object({ type: z.literal('circuit-closed') }).strict(),
    z
      .object({
        type: z.literal('not-saturated'),
        /** Drop a backend whose scraped waiting queue is longer than this. */
        maxQueue: z.number().int().min(0).default(16),
        /** Drop a backend whose KV cache is fuller than this (0..1). */
        maxKvCacheUsage: z.number().min(0).max(1).default(0.95),
        /** Optional cap on the router's own in-flight requests to the backend (no scrape lag). */
        maxInFlightRequests: z.number().int().min(1).optional(),
        /** Drop vLLM backends that have no scrape yet (fail closed); hosted backends never have metrics. */
        requireMetrics: z.boolean().default(true),
      })
      .strict(),
  ]),
);
export type FilterConfig = z.infer<typeof FilterConfig>;
export type FilterType = FilterConfig['type'];

const weight = z.number().min(0).max(100);

export const ScorerConfig = z.preprocess(
  shorthand,
  z.discriminatedUnion('type', [
    z.object({ type: z.literal('queue'), weight: weight.default(1) }).strict(),
    z.object({ type: z.literal('kv-cache'), weight: weight.default(1) }).strict(),
    z
      .object({
        type: z.literal('in-flight'),
        weight: weight.default(1),
        /** Count requests, tokens (prompt + max output the router admitted), or the mean of both. */
        mode: z.enum(['requests', 'tokens', 'both']).default('both'),
      })
      .strict(),
    z.object({ type: z.literal('prefix-affinity'), weight: weight.default(1) }).strict(),
    z
      .object({
        type: z.literal('session-affinity'),
        weight: weight.default(1),
        /** Forget a session that has not been seen for this long. */
        ttlMs: z.number().int().min(1).default(600_000),
      })
      .strict(),
    z.object({ type: z.literal('cost'), weight: weight.default(1) }).strict(),
    z.object({ type: z.literal('prefill-backlog'), weight: weight.default(1) }).strict(),
    z.object({ type: z.literal('prefill-work'), weight: weight.default(1) }).strict(),
  ]),
);
export type ScorerConfig = z.infer<typeof ScorerConfig>;
export type ScorerType = ScorerConfig['type'];

export const PickerConfig = z.preprocess(
  shorthand,
  z.discriminatedUnion('type', [
    z.object({ type: z.literal('max-score') }).strict(),
    z
      .object({
        type: z.literal('weighted-random'),
        /** Scores are raised to this power before sampling: higher = greedier. */
        sharpness: z.number().min(0).max(64).default(4),
      })
      .strict(),
    z.object({ type: z.literal('round-robin') }).strict(),
  ]),
);
export type PickerConfig = z.infer<typeof PickerConfig>;
export type PickerType = PickerConfig['type'];

export const DEFAULT_SCRAPE_INTERVAL_MS = 50;
export const DEFAULT_STALE_AFTER_MS = 500;
export const DEFAULT_PREFIX_LRU_SIZE = 50_000;

/**
 * A scheduling profile. `SchedulingProfileConfig.parse({})` is the default GPU-aware profile: llm-d's endpoint
 * picker weights (2·queue + 2·(1−KV) + 3·prefix) plus two zero-lag router-side signals: in-flight work (1) against
 * herding between scrapes, and prefill work in tokens (3) — the backlog a new request's first token waits behind
 * plus its own uncached prompt on each replica;
 * `ROUND_ROBIN_PROFILE` is the baseline.
 */
export const SchedulingProfileConfig = z
  .object({
    filters: z.array(FilterConfig).default(() => [
      { type: 'healthy' as const },
      { type: 'serves-model' as const },
      { type: 'circuit-closed' as const },
      { type: 'not-saturated' as const, maxQueue: 16, maxKvCacheUsage: 0.95, requireMetrics: true },
    ]),
    scorers: z.array(ScorerConfig).default(() => [
      { type: 'queue' as const, weight: 2 },
      { type: 'kv-cache' as const, weight: 2 },
      { type: 'prefix-affinity' as const, weight: 3 },
      { type: 'in-flight' as const, weight: 1, mode: 'both' as const },
      { type: 'prefill-work' as const, weight: 3 },
    ]),
    picker: PickerConfig.default(() => ({ type: 'max-score' as const })),
    /** How often each vLLM `/metrics` is scraped. */
    scrapeIntervalMs: z.number().int().min(5).max(100).default(DEFAULT_SCRAPE_INTERVAL_MS),
    /** A backend whose last good scrape is older than this counts as saturated (fail closed). */
    staleAfterMs: z.number().int().min(10).default(DEFAULT_STALE_AFTER_MS),
    /** Bound of the prefix-block-hash → backend LRU used by prefix affinity. */
    prefixLruSize: z.number().int().min(16).default(DEFAULT_PREFIX_LRU_SIZE),
    /** Tokens per prefix block (vLLM's KV block size). */
    prefixBlockTokens: z.number().int().min(1).max(1024).default(16),
    /**
     * Plugin calls are timed into the duration histogram on one scheduling call in this many (1 = every call). The
     * plugins take ~0.1 µs each but a prom-client observation costs ~0.7 µs, so timing every call would cost more
     * than the plugins themselves; a 1-in-16 sample keeps the distribution and its cost out of the request path.
     */
    timingSampleEvery: z.number().int().min(1).max(1_000_000).default(16),
  })
  .strict()
  .refine((profile) => profile.staleAfterMs > profile.scrapeIntervalMs, {
    message: 'staleAfterMs must be longer than scrapeIntervalMs',
    path: ['staleAfterMs'],
  });
export type SchedulingProfileConfig = z.infer<typeof SchedulingProfileConfig>;
/** What a YAML file may contain (defaults not applied yet). */
export type SchedulingProfileInput = z.input<typeof SchedulingProfileConfig>;

export const DEFAULT_PROFILE: SchedulingProfileConfig = SchedulingProfileConfig.parse({});

/** Baseline: no load awareness at all, cycles through whatever is healthy and serves the model. */
export const ROUND_ROBIN_PROFILE: SchedulingProfileConfig = SchedulingProfileConfig.parse({
  filters: ['healthy', 'serves-model', 'circuit-closed'],
  scorers: [],
  picker: 'round-robin',
});
