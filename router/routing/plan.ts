// Model name → route plan: which router model(s) and pools a request may use, in order. A plain model (or alias)
// yields its own route; `auto` runs the complexity classifier and starts at the chosen tier, so escalation and
// spill-over continue up the tiers and then along each tier's fallback pools.
import {
  classifyComplexity,
  type ComplexityRequest,
  type TierConfig,
  DEFAULT_TIER_CONFIG,
} from '../scheduling-facade/index.ts';
import type { ModelRouteConfig, PoolConfig, RouterConfig, TimeoutsConfig } from '../config/schema.ts';
import { InvalidRequestError, NotFoundError } from '../../core/errors.ts';

export interface RouteStep {
  model: ModelRouteConfig;
  pool: PoolConfig;
}

export interface RoutePlan {
  /** The name the client sent (model, alias or `auto`). */
  requested: string;
  /** The router model the request starts with (after alias resolution / classification). */
  model: ModelRouteConfig;
  steps: readonly RouteStep[];
  /** Tier index chosen by the classifier, for `auto`. */
  tier?: number;
  timeouts: TimeoutsConfig;
  /** The LoRA adapter the client named: `model` is its base, `steps` the base's vLLM pools only. */
  adapter?: string;
}

/** Where adapter names are looked up (router/lora's catalog: configured and discovered adapters). */
export interface AdapterLookup {
  lookup(name: string): { name: string; base: string } | undefined;
  list(): ReadonlyArray<{ name: string; base: string }>;
}

export class RoutePlanner {
  private readonly models = new Map<string, ModelRouteConfig>();
  private readonly pools = new Map<string, PoolConfig>();
  private readonly stepsByModel = new Map<string, RouteStep[]>();
  private readonly plansByName = new Map<string, RoutePlan>();
  private readonly tierSteps: RouteStep[][] = [];
  private readonly classifier: TierConfig;

  private readonly adapterPlans = new Map<string, RoutePlan>();
  /** Names of models the router serves on /v1/embeddings only (its local embedder), listed in /v1/models. */
  private readonly embeddingOnly = new Set<string>();
  private listedEmbeddingModel: string | undefined;

  constructor(
    private readonly config: RouterConfig,
    private readonly adapters?: AdapterLookup,
  ) {
    for (const pool of config.pools) this.pools.set(pool.name, pool);
    for (const model of config.models) {
      const steps = model.route.map((poolName) => ({ model, pool: this.pools.get(poolName)! }));
      this.stepsByModel.set(model.name, steps);
      const plan: RoutePlan = { requested: model.name, model, steps, timeouts: this.timeoutsFor(model) };
      for (const name of [model.name, ...model.aliases]) {
        this.models.set(name, model);
        this.plansByName.set(name, { ...plan, requested: name });
      }
    }
    this.classifier = config.auto?.classifier ?? DEFAULT_TIER_CONFIG;
    if (config.auto) {
      const tiers = config.auto.tiers;
      for (let start = 0; start < tiers.length; start++) {
        const steps: RouteStep[] = [];
        const seen = new Set<string>();
        for (const tier of tiers.slice(start)) {
          for (const step of this.stepsByModel.get(tier) ?? []) {
            const key = `${step.model.name}\u0000${step.pool.name}`;
            if (!seen.has(key)) steps.push(step);
            seen.add(key);
          }
        }
        this.tierSteps.push(steps);
      }
    }
  }

  /** Names served on /v1/models: every model, every alias, and `auto` when configured. */
  listModelNames(): Array<{ id: string; ownedBy: string; parent?: string }> {
    const names: Array<{ id: string; ownedBy: string; parent?: string }> = [];
    for (const model of this.config.models) {
      names.push({ id: model.name, ownedBy: 'switchyard' });
      for (const alias of model.aliases) names.push({ id: alias, ownedBy: `switchyard (alias of ${model.name})` });
    }
    if (this.config.auto) names.push({ id: this.config.auto.name, ownedBy: 'switchyard (complexity tiers)' });
    for (const adapter of this.adapters?.list() ?? []) {
      if (this.plansByName.has(adapter.base))
        names.push({ id: adapter.name, ownedBy: 'switchyard', parent: adapter.base });
    }
    return names;
  }

  /** The local embedder's names: chat or completions with one is a 400 that says what the model is for. */
  markEmbeddingModels(names: Iterable<string>, listed?: string): void {
    for (const name of names) this.embeddingOnly.add(name);
    this.listedEmbeddingModel = listed ?? this.listedEmbeddingModel;
  }

  /** An embedding model to name in errors (the one /v1/models lists), if the router serves one. */
  embeddingModelHint(): string | undefined {
    return this.listedEmbeddingModel;
  }

  isAuto(name: string): boolean {
    return this.config.auto !== undefined && name === this.config.auto.name;
  }

  /** Plan for a model name; `auto` needs the request body for the classifier. */
  plan(name: string, body: ComplexityRequest): RoutePlan {
    const fixed = this.plansByName.get(name);
    if (fixed) return fixed;
    if (this.config.auto && name === this.config.auto.name) {
      const tierCount = this.config.auto.tiers.length;
      const result = classifyComplexity(body, this.classifier);
      const tier = Math.min(tierCount - 1, Math.max(0, result.tier));
      const model = this.models.get(this.config.auto.tiers[tier]!)!;
      return { requested: name, model, steps: this.tierSteps[tier]!, tier, timeouts: this.timeoutsFor(model) };
    }
    const adapterPlan = this.adapterPlan(name);
    if (adapterPlan) return adapterPlan;
    if (this.embeddingOnly.has(name)) {
      throw new InvalidRequestError(
        `The model \`${name}\` is an embedding model: it serves /v1/embeddings, not chat or completions. ` +
          'Send it to /v1/embeddings, or pick a chat model from /v1/models.',
        { param: 'model', code: 'model_not_supported' },
      );
    }
    throw new NotFoundError(`The model \`${name}\` does not exist or you do not have access to it.`, {
      code: 'model_not_found',
      param: 'model',
    });
  }

  /** A LoRA adapter runs on its base model's vLLM pools only (a hosted tier does not have the adapter). */
  private adapterPlan(name: string): RoutePlan | undefined {
    const adapter = this.adapters?.lookup(name);
    if (!adapter) return undefined;
    const cached = this.adapterPlans.get(name);
    if (cached?.model.name === adapter.base) return cached;
    const base = this.plansByName.get(adapter.base);
    if (!base) return undefined;
    const plan: RoutePlan = {
      ...base,
      requested: name,
      adapter: name,
      steps: base.steps.filter((step) => step.pool.kind === 'vllm'),
    };
    this.adapterPlans.set(name, plan);
    return plan;
  }

  private timeoutsFor(model: ModelRouteConfig): TimeoutsConfig {
    const own = model.timeouts ?? {};
    const base = this.config.timeouts;
    return {
      connectMs: own.connectMs ?? base.connectMs,
      ttftMs: own.ttftMs ?? base.ttftMs,
      totalMs: own.totalMs ?? base.totalMs,
    };
  }
}
