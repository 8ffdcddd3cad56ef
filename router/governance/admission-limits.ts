// Admission's limits step: RPM/TPM from the key's token buckets, then the worst-case budget reservation (prompt +
// max_tokens at the most expensive candidate pool), atomically in the ledger. Synchronous with the in-memory limiter
// and ledger; a promise only when one of them answers with one (Redis). Split out of governance.ts, which calls
// `take` from `admit`.
import { performance } from 'node:perf_hooks';
import type { Admission } from './contracts.ts';
import type { BudgetLedger, BudgetScope, ReserveResult } from './budgets/contracts.ts';
import { NANOS_PER_USD, usdToNanos } from './budgets/contracts.ts';
import type { GovernanceConfig } from '../config/governance.ts';
import type { CostMeter } from './cost/cost.ts';
import type { PricingCatalog } from './cost/pricing.ts';
import { KeyBudgetExceededError, KeyRateLimitError } from './errors.ts';
import { periodsOf, type KeyRecord, type KeyStore } from './keys/store.ts';
import type { LimitDecision, RateLimiter, RateLimits } from './limits/contracts.ts';
import type { GovernanceMetrics } from './observability/metrics.ts';

/** Response header: the worst-case cost reserved for the request. */
export const HEADER_COST_RESERVED = 'x-switchyard-cost-reserved-usd';

/**
 * Times admission's stages into the stage histogram. A class, not a closure per stage: one object per request.
 */
export class StageTimer {
  private mark = performance.now();
  constructor(private readonly stages: GovernanceMetrics['stage']) {}

  lap(name: keyof GovernanceMetrics['stage']): void {
    const now = performance.now();
    this.stages[name].observe((now - this.mark) / 1000);
    this.mark = now;
  }
}

export type Lap = StageTimer;

export interface AdmissionLimitsDeps {
  defaults: GovernanceConfig['limits'];
  limiter: RateLimiter;
  ledger: BudgetLedger;
  metrics: GovernanceMetrics;
  costMeter: CostMeter;
  pricing: PricingCatalog;
  keys: KeyStore | undefined;
  clock: () => number;
}

export class AdmissionLimits {
  /** Budget scopes whose spend so far was read from the key store (once per scope and process). */
  private readonly seeded = new Set<string>();

  constructor(private readonly deps: AdmissionLimitsDeps) {}

  /**
   * RPM/TPM, then the budget reservation. Synchronous with the in-memory limiter and ledger (undefined when done, a
   * throw on refusal); a promise only when one of them answers with one (Redis).
   */
  take(admission: Admission, lap: Lap): Promise<void> | undefined {
    const key = admission.key;
    if (!key) return undefined;
    const limits = {
      rpm: key.rpm ?? this.deps.defaults.defaultRpm ?? null,
      tpm: key.tpm ?? this.deps.defaults.defaultTpm ?? null,
    };
    if (!limits.rpm && !limits.tpm) return this.reserveBudget(admission, key, limits, lap);
    const decision = this.deps.limiter.admit(key.id, limits, admission.promptTokens);
    if (decision instanceof Promise)
      return decision.then((value) => this.afterRateLimit(admission, key, limits, value, lap));
    return this.afterRateLimit(admission, key, limits, decision, lap);
  }

  private afterRateLimit(
    admission: Admission,
    key: KeyRecord,
    limits: RateLimits,
    decision: LimitDecision,
    lap: Lap,
  ): Promise<void> | undefined {
    lap.lap('limits');
    if (!decision.allowed) {
      this.deps.metrics.rateLimited.inc({ limit: decision.limit });
      throw new KeyRateLimitError(decision.limit, decision.perMinute, decision.retryAfterMs);
    }
    return this.reserveBudget(admission, key, limits, lap);
  }

  private reserveBudget(admission: Admission, key: KeyRecord, limits: RateLimits, lap: Lap): Promise<void> | undefined {
    const scopes = this.budgetScopes(key);
    if (scopes.length === 0) return undefined;
    const worstUsd = this.deps.costMeter.worstCaseUsd(
      this.deps.pricing.candidates(admission.model),
      admission.promptTokens,
      admission.maxTokens,
    );
    const amount = usdToNanos(worstUsd, 'up');
    const result = this.deps.ledger.reserve(scopes, amount);
    if (result instanceof Promise)
      return result.then((value) => this.afterReserve(admission, key, limits, amount, value, lap));
    return this.afterReserve(admission, key, limits, amount, result, lap);
  }

  private afterReserve(
    admission: Admission,
    key: KeyRecord,
    limits: RateLimits,
    amount: number,
    result: ReserveResult,
    lap: Lap,
  ): Promise<void> | undefined {
    lap.lap('budget');
    if (!result.ok) {
      const period = result.scope.id.includes(':day:') ? 'daily' : 'monthly';
      this.deps.metrics.budgetRejections.inc({ period });
      const refusal = new KeyBudgetExceededError(period, result.scope.limitNanos / NANOS_PER_USD);
      // Give back the prompt tokens taken from the TPM bucket: the request never ran.
      const given = limits.tpm ? this.deps.limiter.charge(key.id, limits, -admission.promptTokens) : undefined;
      if (given instanceof Promise) {
        return given.then(() => {
          throw refusal;
        });
      }
      throw refusal;
    }
    Object.assign(admission, { reservation: result.reservation, reservedUsd: amount / NANOS_PER_USD });
    admission.headers[HEADER_COST_RESERVED] = (amount / NANOS_PER_USD).toFixed(8);
    return undefined;
  }

  private budgetScopes(key: KeyRecord): BudgetScope[] {
    const { day, month } = periodsOf(this.deps.clock());
    const scopes: BudgetScope[] = [];
    if (key.dailyBudgetUsd)
      scopes.push(this.budgetScope(key, `${key.id}:day:${day}`, key.dailyBudgetUsd, day, day, 2 * 86_400));
    if (key.monthlyBudgetUsd) {
      scopes.push(
        this.budgetScope(
          key,
          `${key.id}:month:${month}`,
          key.monthlyBudgetUsd,
          `${month}-01`,
          `${month}-31`,
          32 * 86_400,
        ),
      );
    }
    return scopes;
  }

  private budgetScope(
    key: KeyRecord,
    id: string,
    limitUsd: number,
    from: string,
    to: string,
    ttlSeconds: number,
  ): BudgetScope {
    let seedNanos = 0;
    if (!this.seeded.has(id) && this.deps.keys) {
      seedNanos = usdToNanos(this.deps.keys.spentBetween(key.id, from, to));
      this.seeded.add(id);
    }
    return { id, limitNanos: usdToNanos(limitUsd), seedNanos, ttlSeconds };
  }
}
