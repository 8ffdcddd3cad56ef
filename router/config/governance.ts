// The `governance:` section of switchyard.yaml as one zod schema (types inferred). Everything is off by default so the
// embedded default stays an open router; `enabled: true` turns on keys, limits, budgets, cost, guardrails and the rest,
// each of which can then be tuned or switched off on its own.
import { z } from 'zod';

export const GuardrailAction = z.enum(['block', 'redact', 'flag', 'off']);
export type GuardrailAction = z.infer<typeof GuardrailAction>;

export const PiiType = z.enum(['credit_card', 'ssn', 'email', 'phone', 'iban']);
export type PiiType = z.infer<typeof PiiType>;

export const TopicAction = z.enum(['block', 'flag', 'off']);
export type TopicAction = z.infer<typeof TopicAction>;

/** A cosine similarity threshold. */
const Similarity = z.number().min(-1).max(1);

/** One guardrail policy; profiles override the default field by field. */
export const GuardrailPolicy = z.strictObject({
  input: z
    .strictObject({
      /** Longest accepted prompt (all message text), in characters; longer → 400. */
      maxChars: z.number().int().positive().default(200_000),
      /** Remove C0/C1 control characters (except tab, newline, carriage return) from message text. */
      stripControlChars: z.boolean().default(true),
      /** Prompt-injection rules: `block` → 400 naming the rule, `flag` → metric + log only. */
      injection: z.enum(['block', 'flag', 'off']).default('flag'),
      /** Injection score (sum of rule weights) at or above which the request counts as an injection. */
      injectionThreshold: z.number().positive().default(1),
      /** Allowed topics (`guardrails.topics`, embedded with the governance embedder): `block` → 400 `off_topic`,
       * `flag` → header, metric and log only. */
      topics: TopicAction.default('off'),
      /** Names from `guardrails.topics` this policy allows; empty: every configured topic. */
      allowedTopics: z.array(z.string().min(1)).default([]),
      /** Cosine similarity to the closest example of an allowed topic that the prompt must reach. */
      topicThreshold: Similarity.default(0.5),
    })
    .prefault({}),
  output: z
    .strictObject({
      pii: GuardrailAction.default('redact'),
      piiTypes: z.array(PiiType).default(['credit_card', 'ssn', 'email', 'phone', 'iban']),
      /** System-prompt leakage: an output word n-gram that also occurs in the request's system prompt. */
      leakage: GuardrailAction.default('flag'),
      leakageNgram: z.number().int().min(3).max(32).default(8),
      /** Characters held back on streams so a secret split across chunks is still caught. */
      holdBackChars: z.number().int().min(0).max(4096).default(48),
    })
    .prefault({}),
});
export type GuardrailPolicy = z.infer<typeof GuardrailPolicy>;

/** A partial policy used as an override (profile per key or per model): unset fields keep the base value. */
export const GuardrailOverride = z.strictObject({
  input: z
    .strictObject({
      maxChars: z.number().int().positive().optional(),
      stripControlChars: z.boolean().optional(),
      injection: z.enum(['block', 'flag', 'off']).optional(),
      injectionThreshold: z.number().positive().optional(),
      topics: TopicAction.optional(),
      allowedTopics: z.array(z.string().min(1)).optional(),
      topicThreshold: Similarity.optional(),
    })
    .optional(),
  output: z
    .strictObject({
      pii: GuardrailAction.optional(),
      piiTypes: z.array(PiiType).optional(),
      leakage: GuardrailAction.optional(),
      leakageNgram: z.number().int().min(3).max(32).optional(),
      holdBackChars: z.number().int().min(0).max(4096).optional(),
    })
    .optional(),
});
export type GuardrailOverride = z.infer<typeof GuardrailOverride>;

const TokenLimits = z.strictObject({
  /** max_tokens used when the request sets none. */
  defaultMaxTokens: z.number().int().positive().optional(),
  /** Upper bound: larger requested max_tokens are clamped to it. */
  maxMaxTokens: z.number().int().positive().optional(),
});
export type TokenLimits = z.infer<typeof TokenLimits>;

export const GovernanceConfig = z
  .strictObject({
    enabled: z.boolean().default(false),
    keys: z
      .strictObject({
        /** With keys on, every /v1/* route needs a valid key. */
        enabled: z.boolean().default(true),
        /** SQLite file for keys and spend (relative to the working directory); `:memory:` for tests. */
        database: z.string().min(1).default('.switchyard/governance.sqlite'),
        /**
         * Name of a key that requests without a known key (none, or one this database does not hold) are served and
         * billed as when they come from loopback (127.0.0.0/8, ::1); disabled keys and other addresses are refused as
         * usual. The embedded default sets it to its demo key; unset: keys required.
         */
        loopbackKey: z.string().min(1).optional(),
        /** Bearer token for /admin/* endpoints; admin endpoints are off when unset. */
        adminToken: z.string().min(16).optional(),
        /** Paths that stay open with keys on. */
        openPaths: z.array(z.string().startsWith('/')).default(['/health', '/ready', '/metrics']),
        /** How long a looked-up key is trusted before it is read again (so a disable lands within this). */
        cacheMs: z.number().int().nonnegative().default(2_000),
        /** Spend rows are written in batches this often. */
        flushMs: z.number().int().positive().default(1_000),
      })
      .prefault({}),
    limits: z
      .strictObject({
        backend: z.enum(['memory', 'redis']).default('memory'),
        redisUrl: z.string().default('redis://127.0.0.1:6379'),
        /** Prefix of every Redis key, so several routers or deployments can share one Redis. */
        redisPrefix: z.string().default('switchyard:'),
        /** Limits for keys that set none (unset = unlimited). */
        defaultRpm: z.number().int().positive().optional(),
        defaultTpm: z.number().int().positive().optional(),
      })
      .prefault({}),
    budgets: z
      .strictObject({
        /** Fractions of a budget at which an alert fires once per period (metric, log line, webhook). */
        alertThresholds: z.array(z.number().positive().max(10)).default([0.8, 1]),
        webhookUrl: z.url().optional(),
      })
      .prefault({}),
    /** Output length control per router model (keys can set their own on top). */
    outputLength: z.record(z.string(), TokenLimits).default({}),
    cost: z
      .strictObject({
        /** Sliding window (s) over which a self-hosted backend's busy GPU cost is shared by tokens. */
        windowSeconds: z.number().positive().default(60),
        /** Weight of a prompt token relative to a completion token in the self-hosted share (prefill is cheaper). */
        promptTokenWeight: z.number().nonnegative().default(1),
        /** Bootstrap throughput (weighted tokens/s per GPU) for worst-case reservations before any traffic. */
        bootstrapTokensPerGpuSecond: z.number().positive().default(400),
        /** $/GPU-hour per pool, overriding the catalog price. */
        gpuHourly: z.record(z.string(), z.number().positive()).default({}),
      })
      .prefault({}),
    guardrails: z
      .strictObject({
        enabled: z.boolean().default(true),
        default: GuardrailPolicy.prefault({}),
        /** Named overrides; keys name a profile, and `models` maps a router model to one. */
        profiles: z.record(z.string(), GuardrailOverride).default({}),
        models: z.record(z.string(), z.string()).default({}),
        /** Allowed-topics catalogue: topic name → a few example phrases, embedded once at start-up. */
        topics: z.record(z.string().min(1), z.array(z.string().min(1)).min(1)).default({}),
      })
      .prefault({}),
    cache: z
      .strictObject({
        enabled: z.boolean().default(false),
        maxBytes: z
          .number()
          .int()
          .positive()
          .default(64 * 1024 * 1024),
        ttlSeconds: z.number().positive().default(300),
        /** Who shares cached answers: each key alone (default), a key's team, or every caller (`shared`, opt-in). */
        scope: z.enum(['key', 'team', 'shared']).default('key'),
        /** Semantic cache: on an exact miss, the nearest cached prompt (HNSW, cosine) with the same everything-else. */
        semantic: z
          .strictObject({
            enabled: z.boolean().default(false),
            /** Cosine similarity of the last user message to a cached one at or above which its answer is served. */
            threshold: Similarity.default(0.95),
            /** Entries in the vector index (oldest evicted first); answers also live in the exact cache's byte budget. */
            maxEntries: z.number().int().positive().default(10_000),
            /** Prompts longer than this (characters) are not compared semantically: embedders truncate long input. */
            maxChars: z.number().int().positive().default(1_000),
            /** Entry lifetime; default: the exact cache's ttlSeconds. */
            ttlSeconds: z.number().positive().optional(),
            /** HNSW graph parameters. */
            m: z.number().int().min(2).max(64).default(16),
            efConstruction: z.number().int().positive().default(100),
            ef: z.number().int().positive().default(64),
          })
          .prefault({}),
      })
      .prefault({}),
    prompts: z
      .strictObject({
        /** Folder of prompt YAML files; the registry is off when unset. */
        dir: z.string().optional(),
      })
      .prefault({}),
    tracing: z
      .strictObject({
        /** Export spans over OTLP/HTTP (endpoint from OTEL_EXPORTER_OTLP_* environment variables). */
        enabled: z.boolean().default(false),
        serviceName: z.string().default('switchyard-router'),
      })
      .prefault({}),
    logging: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        /** Log prompt and response bodies (off: they may hold personal data). */
        bodies: z.boolean().default(false),
      })
      .prefault({}),
    dashboard: z.strictObject({ enabled: z.boolean().default(true) }).prefault({}),
    /** The embedding model behind allowed topics and the semantic cache (loaded only when one of them is on). */
    embedder: z
      .strictObject({
        /** Local model folder or hub id; unset: the router's `retrieval.embedder` ($SWITCHYARD_EMBEDDER, retrieval's default). */
        model: z.string().min(1).optional(),
        /** Never download; unset: the router's `retrieval.offline`. */
        offline: z.boolean().optional(),
        cacheDir: z.string().min(1).optional(),
        dtype: z.enum(['fp32', 'q8']).default('fp32'),
      })
      .prefault({}),
  })
  .superRefine((config, context) => {
    const topics = Object.keys(config.guardrails.topics);
    const policies: Array<[string, { topics?: string | undefined; allowedTopics?: string[] | undefined } | undefined]> =
      [
        ['guardrails.default', config.guardrails.default.input],
        ...Object.entries(config.guardrails.profiles).map(([name, profile]): [string, typeof profile.input] => [
          `guardrails.profiles.${name}`,
          profile.input,
        ]),
      ];
    for (const [path, input] of policies) {
      if (input?.topics !== undefined && input.topics !== 'off' && topics.length === 0) {
        context.addIssue({
          code: 'custom',
          message: `${path}.input.topics is ${input.topics} but guardrails.topics lists no topic`,
        });
      }
      for (const name of input?.allowedTopics ?? []) {
        if (!topics.includes(name))
          context.addIssue({ code: 'custom', message: `${path}.input.allowedTopics names unknown topic "${name}"` });
      }
    }
    if (config.cache.semantic.enabled && !config.cache.enabled) {
      context.addIssue({
        code: 'custom',
        message: 'cache.semantic.enabled needs cache.enabled (semantic hits serve answers from the exact cache)',
      });
    }
  })
  .prefault({});
export type GovernanceConfig = z.infer<typeof GovernanceConfig>;
export type GovernanceConfigInput = z.input<typeof GovernanceConfig>;

/** Whether any policy (default or profile) turns the allowed-topics check on. */
export function topicsConfigured(config: GovernanceConfig): boolean {
  if (!config.guardrails.enabled) return false;
  const inputs = [
    config.guardrails.default.input,
    ...Object.values(config.guardrails.profiles).map((profile) => profile.input),
  ];
  return inputs.some((input) => input?.topics !== undefined && input.topics !== 'off');
}

/** Whether the embedder is needed at all (allowed topics or the semantic cache). */
export function embedderNeeded(config: GovernanceConfig): boolean {
  return topicsConfigured(config) || (config.cache.enabled && config.cache.semantic.enabled);
}

/** Merge a default policy with overrides, later ones winning field by field. */
export function mergePolicy(
  base: GuardrailPolicy,
  ...overrides: ReadonlyArray<GuardrailOverride | undefined>
): GuardrailPolicy {
  let input = base.input;
  let output = base.output;
  for (const override of overrides) {
    if (!override) continue;
    if (override.input) input = { ...input, ...stripUndefined(override.input) };
    if (override.output) output = { ...output, ...stripUndefined(override.output) };
  }
  return { input, output };
}

function stripUndefined<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
