// The `governance:` section of switchyard.yaml as one zod schema (types inferred). Everything is off by default so the
// embedded default stays an open router; `enabled: true` turns on keys, limits, budgets, cost, guardrails and the rest,
// each of which can then be tuned or switched off on its own.
import { z } from 'zod';

export const GuardrailAction = z.enum(['block', 'redact', 'flag', 'off']);
export type GuardrailAction = z.infer<typeof GuardrailAction>;

export const PiiType = z.enum(['credit_card', 'ssn', 'email', 'phone', 'iban']);
export type PiiType = z.infer<typeof PiiType>;

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
        database: z.string().min(1).default('switchyard-governance.sqlite'),
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
      })
      .prefault({}),
    cache: z
      .strictObject({
        enabled: z.boolean().default(false),
        maxBytes: z.number().int().positive().default(64 * 1024 * 1024),
        ttlSeconds: z.number().positive().default(300),
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
  })
  .prefault({});
export type GovernanceConfig = z.infer<typeof GovernanceConfig>;
export type GovernanceConfigInput = z.input<typeof GovernanceConfig>;

/** Merge a default policy with overrides, later ones winning field by field. */
export function mergePolicy(base: GuardrailPolicy, ...overrides: ReadonlyArray<GuardrailOverride | undefined>): GuardrailPolicy {
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
