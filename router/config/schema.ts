// The zod schema of switchyard.yaml. Types are inferred from it; cross-references (a route naming a pool, an alias
// clashing with a model) are checked in one superRefine so every error names its path.
import { DeployConfig } from '../../deploy/config.ts';
import { z } from 'zod';
import { ModelId } from '../../models/catalog/models.ts';
import { GpuId } from '../../models/catalog/gpus.ts';
import { SchedulingProfileConfig, CircuitBreakerConfig, TierClassifierConfig } from '../scheduling-facade/index.ts';
import { BatchSectionConfig } from './batch.ts';
import { GovernanceConfig } from './governance.ts';
import { RetrievalSectionConfig } from './retrieval.ts';
import { LoraSectionConfig, checkLoraSection } from './lora.ts';
import { DiscoveryConfig } from './discovery.ts';
import { ModelChainConfig, PromptsSectionConfig, RequestLogSectionConfig } from './chain.ts';

const Milliseconds = z.number().int().positive();
const Name = z
  .string()
  .min(1)
  .regex(/^[A-Za-z0-9._:/-]+$/, 'use letters, digits and . _ : / - only');

export const TimeoutsConfig = z.strictObject({
  /** TCP/TLS connect to an upstream. */
  connectMs: Milliseconds.default(5_000),
  /** Until the first token (first SSE event for streams, response headers otherwise). */
  ttftMs: Milliseconds.default(30_000),
  /** Whole request, across retries: long enough for a 70B answer of a few thousand tokens (openai-node's 10 min). */
  totalMs: Milliseconds.default(600_000),
});
export type TimeoutsConfig = z.infer<typeof TimeoutsConfig>;

/** Per-model overrides: no defaults here, so an unset field keeps the global value. */
const TimeoutOverrides = z.strictObject({
  connectMs: Milliseconds.optional(),
  ttftMs: Milliseconds.optional(),
  totalMs: Milliseconds.optional(),
});

/**
 * A driver that starts the pool's backends in-process (the GPU-free simulator); its URLs fill `backends`. The pool's
 * kind picks the simulator's profile: `vllm` pools get vLLM replicas, `openai` pools the `hosted` (OpenAI-like) one.
 */
export const SimulatorDriverConfig = z
  .strictObject({
    type: z.literal('simulator'),
    replicas: z.number().int().min(1).max(64).default(1),
    /** Time speed-up factor of the simulated engine (1 = real time). */
    speed: z.number().positive().optional(),
    /** Extra simulator options passed through as they are. */
    options: z.record(z.string(), z.unknown()).default({}),
    /** Accepted so that configs which set it still load, and dropped: the pool's kind picks the profile (router/README.md, "Retired config keys"). */
    profile: z.string().optional(),
  })
  .transform(({ profile: _dropped, ...driver }) => driver);
export type SimulatorDriverConfig = z.infer<typeof SimulatorDriverConfig>;

const BackendEntry = z.strictObject({ id: Name.optional(), url: z.url() });

export const VllmPoolConfig = z.strictObject({
  name: Name,
  kind: z.literal('vllm'),
  /** Catalog model (for the step-time model that predicts TTFT). */
  model: ModelId,
  gpu: GpuId,
  tensorParallel: z.number().int().min(1).max(8).default(1),
  /** Model name the vLLM server was launched with; defaults to the router model name of the request. */
  servedModel: z.string().optional(),
  backends: z.array(BackendEntry).default([]),
  /** Backends found at run time (headless Service DNS, re-resolved), in addition to `backends` (router/discovery). */
  discovery: DiscoveryConfig.optional(),
  driver: SimulatorDriverConfig.optional(),
  headers: z.record(z.string(), z.string()).default({}),
  /** Context window of the replicas (vLLM --max-model-len); default: the catalog model's (router/routing/context-fit.ts). */
  contextTokens: z.number().int().positive().optional(),
});
export type VllmPoolConfig = z.infer<typeof VllmPoolConfig>;

/**
 * llama.cpp's `llama-server` replicas (CPU or small GPUs): OpenAI-compatible requests as for vLLM, queue and
 * per-slot context use scraped from `/metrics` (`--metrics`) and `/slots`. Replicas come from `backends` or from a
 * `deploy` pool of the same name (deploy/engines/llamacpp starts them).
 */
export const LlamaCppPoolConfig = z.strictObject({
  name: Name,
  kind: z.literal('llamacpp'),
  /** Model name sent upstream (llama-server answers to any name; its `--alias` shows in responses). */
  servedModel: z.string().optional(),
  backends: z.array(BackendEntry).default([]),
  /** $ per hour of one replica's machine share, for the cost scorer (lower is cheaper). */
  costPerHour: z.number().nonnegative().default(0.1),
  headers: z.record(z.string(), z.string()).default({}),
  /** Context window of the replicas (llama-server --ctx-size); unknown when unset. */
  contextTokens: z.number().int().positive().optional(),
});
export type LlamaCppPoolConfig = z.infer<typeof LlamaCppPoolConfig>;

export const OpenAIPoolConfig = z.strictObject({
  name: Name,
  kind: z.literal('openai'),
  /** Any OpenAI-compatible API; a simulator driver fills it in when set. */
  baseURL: z.url().optional(),
  apiKey: z.string().default('none'),
  /** Upstream model used when `modelMap` has no entry for the router model. */
  model: z.string().optional(),
  /** Router model name → upstream model name. */
  modelMap: z.record(z.string(), z.string()).default({}),
  /** $ per 1M tokens (blended), for the cost scorer. */
  costPer1MTokens: z.number().nonnegative().default(1),
  /** Requests in flight above which the hosted backend counts as saturated (a rate-limit guard). */
  maxConcurrency: z.number().int().positive().default(1024),
  driver: SimulatorDriverConfig.optional(),
  headers: z.record(z.string(), z.string()).default({}),
  /** Context window of the upstream model; unknown (taken as fitting any prompt) when unset. */
  contextTokens: z.number().int().positive().optional(),
});
export type OpenAIPoolConfig = z.infer<typeof OpenAIPoolConfig>;

export const PoolConfig = z.discriminatedUnion('kind', [VllmPoolConfig, LlamaCppPoolConfig, OpenAIPoolConfig]);
export type PoolConfig = z.infer<typeof PoolConfig>;

export const ModelRouteConfig = z.strictObject({
  name: Name,
  aliases: z.array(Name).default([]),
  /** Pools in order: the first is the primary, the rest are the fallback chain (next tier, hosted APIs). */
  route: z.array(Name).min(1),
  /** Predicted time-to-first-token above which a request spills over to the next pool in the route. */
  sloTtftMs: Milliseconds.optional(),
  spillover: z.boolean().default(true),
  /** Non-streamed responses failing a quality check move on to the next pool. */
  escalate: z.boolean().default(true),
  timeouts: TimeoutOverrides.optional(),
  /** Run every chat request to this model through the verified chain (router/chain) unless it sends `chain: false`. */
  chain: ModelChainConfig.optional(),
});
export type ModelRouteConfig = z.infer<typeof ModelRouteConfig>;

export const AutoConfig = z.strictObject({
  name: Name.default('auto'),
  /** Router model names from simplest to strongest; the classifier picks where a request starts. */
  tiers: z.array(Name).min(1),
  classifier: TierClassifierConfig.optional(),
});

export const RetryConfig = z.strictObject({
  /** Attempts per request across the pool and the fallback chain (first try included). */
  maxAttempts: z.number().int().min(1).max(20).default(4),
  initialDelayMs: z.number().int().nonnegative().default(100),
  maxDelayMs: z.number().int().nonnegative().default(2_000),
  /** A retry-after longer than this is not waited for on the same backend; another backend is tried instead. */
  maxRetryAfterMs: z.number().int().nonnegative().default(5_000),
});
export type RetryConfig = z.infer<typeof RetryConfig>;

export const RouterConfig = z
  .strictObject({
    server: z
      .strictObject({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65_535).default(8080),
        /** Largest accepted request body, in bytes-module syntax (`4mb`). */
        bodyLimit: z
          .string()
          .regex(/^\s*\d+(\.\d+)?\s*(b|kb|mb|gb)?\s*$/i, 'use a size such as 512kb or 4mb')
          .default('4mb'),
        /** On SIGTERM/SIGINT: how long in-flight requests may take to finish before their connections are closed. */
        shutdownGraceMs: z.number().int().min(0).max(600_000).default(10_000),
        /** One JSON line per request on stdout (ids, trace, route, backend, tokens, latency); governance writes its own. */
        requestLog: z.boolean().default(true),
      })
      .prefault({}),
    pools: z.array(PoolConfig).min(1),
    models: z.array(ModelRouteConfig).min(1),
    auto: AutoConfig.optional(),
    /** Filters, scorers (weights), picker, scrape interval and staleness (router/scheduling/config.ts). */
    scheduling: SchedulingProfileConfig.prefault({}),
    circuitBreaker: CircuitBreakerConfig.prefault({}),
    retries: RetryConfig.prefault({}),
    timeouts: TimeoutsConfig.prefault({}),
    /** The Batch API (/v1/files, /v1/batches): limits, admission thresholds, retries, storage root (router/batch). */
    batch: BatchSectionConfig.optional(),
    streaming: z
      .strictObject({
        /** After bytes reached the client: `continue` on another backend, or end with an error event + [DONE]. */
        onMidStreamFailure: z.enum(['continue', 'error']).default('continue'),
      })
      .prefault({}),
    /** Keys, limits, budgets, cost, guardrails, cache, prompts, tracing, dashboard: off by default (router/governance). */
    governance: GovernanceConfig,
    /** Local retrieval: /v1/retrieve, /v1/rerank, local /v1/embeddings, the chat `rag`/`few_shot` extensions (router/rag). */
    retrieval: RetrievalSectionConfig.optional(),
    /**
     * Replicas this router starts and scales itself (deploy/: local simulator processes or Docker containers); each
     * deploy pool registers its replicas into the router's vLLM (or llama.cpp) pool of the same name.
     */
    deploy: DeployConfig.optional(),
    /** LoRA adapters: names → base model, discovery from the replicas, on-demand loading (router/lora). */
    lora: LoraSectionConfig.optional(),
    /** Prompt folders and the rollout file (active versions, A/B weights, rollback history; router/chain). */
    prompts: PromptsSectionConfig.prefault({}),
    /** JSONL log of chained requests and feedback, read by `POST /v1/feedback` and `eval add-case` (router/chain). */
    requestLog: RequestLogSectionConfig.prefault({}),
  })
  .superRefine((config, context) => {
    config.deploy?.pools.forEach((deployPool, index) => {
      const routerPool = config.pools.find((pool) => pool.name === deployPool.name);
      const wanted = deployPool.llamacpp ? 'llamacpp' : 'vllm';
      if (routerPool?.kind !== wanted) {
        context.addIssue({
          code: 'custom',
          path: ['deploy', 'pools', index, 'name'],
          message: `deploy pool "${deployPool.name}" needs a ${wanted} pool of the same name in pools`,
        });
      }
    });
    const pools = new Map(config.pools.map((pool, index) => [pool.name, index]));
    config.pools.forEach((pool, index) => {
      if (pools.get(pool.name) !== index) {
        context.addIssue({ code: 'custom', path: ['pools', index, 'name'], message: `duplicate pool "${pool.name}"` });
      }
      // A vLLM pool may start empty: deploy/ registers its replicas at run time.
      if (pool.kind === 'openai' && !pool.baseURL && !pool.driver) {
        context.addIssue({ code: 'custom', path: ['pools', index, 'baseURL'], message: 'needs baseURL or a driver' });
      }
    });
    const names = new Map<string, string>();
    config.models.forEach((model, index) => {
      for (const [offset, name] of [model.name, ...model.aliases].entries()) {
        const path = offset === 0 ? ['models', index, 'name'] : ['models', index, 'aliases', offset - 1];
        if (names.has(name)) context.addIssue({ code: 'custom', path, message: `"${name}" is already used` });
        names.set(name, model.name);
      }
      model.route.forEach((poolName, routeIndex) => {
        if (!pools.has(poolName)) {
          context.addIssue({
            code: 'custom',
            path: ['models', index, 'route', routeIndex],
            message: `unknown pool "${poolName}" (pools: ${[...pools.keys()].join(', ')})`,
          });
        }
      });
    });
    if (config.lora) checkLoraSection(config.lora, config.models, context);
    if (config.auto) {
      if (names.has(config.auto.name)) {
        context.addIssue({ code: 'custom', path: ['auto', 'name'], message: `"${config.auto.name}" is already used` });
      }
      config.auto.tiers.forEach((tier, index) => {
        if (!config.models.some((model) => model.name === tier)) {
          context.addIssue({ code: 'custom', path: ['auto', 'tiers', index], message: `unknown model "${tier}"` });
        }
      });
    }
  });

export type RouterConfigInput = z.input<typeof RouterConfig>;
export type RouterConfig = z.infer<typeof RouterConfig>;
