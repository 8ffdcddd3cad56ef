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
        /**
         * Drop a vLLM backend with more router-side pending prefill than this (prompt tokens admitted, no first token
         * yet): no scrape lag, unlike maxQueue. 16 000 tokens ≈ 0.5 s of Llama 3.1 8B prefill on an H100, several
         * seconds on an A10G. Without pendingPrefillTokens from the core it never triggers; set it very high to disable.
         */
        maxPendingPrefillTokens: z.number().int().min(1).default(16_000),
        /** Drop vLLM backends that have no scrape yet (fail closed); hosted backends never have metrics. */
        requireMetrics: z.boolean().default(true),
      })
      .strict(),
  ]),
);
export type FilterConfig = z.infer<typeof FilterConfig>;
export type FilterType = FilterConfig['type'];

const weight = z.number().min(0).max(100);

/** The predicted-TTFT model's knobs, in prefill-token equivalents (shared by predicted-ttft and bounded-prefix-affinity). */
const ttftModel = {
  /** Fixed cost of one engine step (H100, Llama 3.1 8B: ~8 ms ≈ 256 prefill tokens). */
  stepOverheadTokens: z.number().min(0).max(100_000).default(256),
  /** Per-step cost of each running (decoding) sequence. */
  decodeTokensPerRunning: z.number().min(0).max(10_000).default(4),
  /** Prompt tokens per engine step (vLLM's max_num_batched_tokens). */
  chunkTokens: z.number().int().min(1).max(1_000_000).default(8_192),
};

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
    z
      .object({
        type: z.literal('consistent-hash-affinity'),
        weight: weight.default(1),
        /** The prefix key covers this many leading blocks; shorter prompts have no key (neutral). */
        keyBlocks: z.number().int().min(1).max(128).default(8),
      })
      .strict(),
    z.object({ type: z.literal('cost'), weight: weight.default(1) }).strict(),
    z.object({ type: z.literal('prefill-backlog'), weight: weight.default(1) }).strict(),
    z.object({ type: z.literal('prefill-work'), weight: weight.default(1) }).strict(),
    z.object({ type: z.literal('predicted-ttft'), weight: weight.default(1), ...ttftModel }).strict(),
    z
      .object({
        type: z.literal('lora-affinity'),
        weight: weight.default(1),
        /** A replica the router sent the adapter to this recently counts as running it (scrape lag). */
        recentMs: z.number().int().min(0).max(60_000).default(500),
      })
      .strict(),
    z
      .object({
        type: z.literal('bounded-prefix-affinity'),
        weight: weight.default(1),
        /** Affinity counts only on replicas predicted at most this many times slower (TTFT) than the fastest. */
        maxTtftRatio: z.number().min(1).max(1_000).default(1.5),
        ...ttftModel,
      })
      .strict(),
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
 * A scheduling profile. `SchedulingProfileConfig.parse({})` is the default GPU-aware profile, chosen on the
 * routing-quality benchmark: prefix affinity (3) keeps each shared prompt on few replicas (cache hits and shared KV
 * blocks), predicted time to first token (3, ratio-scored: backlog + own uncached prefill in tokens) keeps requests
 * off replicas busy prefilling, and zero-lag in-flight counters (0.5) spread bursts between two scrapes; the
 * not-saturated filter also drops a replica with > 16 000 pending prefill tokens (zero lag, unlike the scraped queue).
 * `ROUND_ROBIN_PROFILE` is the baseline.
 */
export const SchedulingProfileConfig = z
  .object({
    filters: z.array(FilterConfig).default(() => [
      { type: 'healthy' as const },
      { type: 'serves-model' as const },
      { type: 'circuit-closed' as const },
      {
        type: 'not-saturated' as const,
        maxQueue: 16,
        maxKvCacheUsage: 0.95,
        maxPendingPrefillTokens: 16_000,
        requireMetrics: true,
      },
    ]),
    scorers: z.array(ScorerConfig).default(() => [
      { type: 'prefix-affinity' as const, weight: 3 },
      {
        type: 'predicted-ttft' as const,
        weight: 3,
        stepOverheadTokens: 256,
        decodeTokensPerRunning: 4,
        chunkTokens: 8_192,
      },
      { type: 'in-flight' as const, weight: 0.5, mode: 'both' as const },
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
