// Budget alerts: when a settle carries a key's spend across a threshold (e.g. 80 %, 100 %) of a period's budget,
// alert once per key, period and threshold (the ledger deduplicates across replicas): a metric, a `warn` log line
// and an optional webhook POST (fire and forget, 5 s timeout). Also keeps the budget-remaining gauge current.
import type { Logger } from 'pino';
import type { KeyRecord } from '../keys/store.ts';
import type { GovernanceMetrics } from '../observability/metrics.ts';
import { NANOS_PER_USD, type BudgetLedger, type SettledScope } from './contracts.ts';

export interface BudgetAlertOptions {
  ledger: BudgetLedger;
  metrics: GovernanceMetrics;
  logger: Logger;
  thresholds: readonly number[];
  webhookUrl: string | undefined;
  fetch: typeof fetch;
}

export class BudgetAlerts {
  constructor(private readonly options: BudgetAlertOptions) {}

  /** Updates the remaining-budget gauge; a promise only when this settle crossed a threshold (alerting is async). */
  check(key: KeyRecord, settled: SettledScope): Promise<void> | undefined {
    const { scope } = settled;
    const period = scope.id.includes(':day:') ? 'daily' : 'monthly';
    this.options.metrics.budgetRemaining.set(
      { key: key.id, period },
      Math.max(0, scope.limitNanos - settled.spentAfterNanos) / NANOS_PER_USD,
    );
    const crossed = this.options.thresholds.filter((threshold) => {
      const line = threshold * scope.limitNanos;
      return settled.spentBeforeNanos < line && settled.spentAfterNanos >= line;
    });
    return crossed.length === 0 ? undefined : this.alert(key, settled, period, crossed);
  }

  private async alert(
    key: KeyRecord,
    settled: SettledScope,
    period: string,
    thresholds: readonly number[],
  ): Promise<void> {
    const { ledger, metrics, logger, webhookUrl } = this.options;
    const { scope } = settled;
    for (const threshold of thresholds) {
      if (!(await ledger.markAlert(scope.id, threshold, scope.ttlSeconds))) continue;
      metrics.budgetAlerts.inc({ period, threshold: String(threshold) });
      const alert = {
        event: 'budget_alert',
        keyId: key.id,
        team: key.team,
        period,
        threshold,
        spentUsd: settled.spentAfterNanos / NANOS_PER_USD,
        budgetUsd: scope.limitNanos / NANOS_PER_USD,
      };
      logger.warn(alert, `budget ${Math.round(threshold * 100)}% reached for ${key.id} (${period})`);
      if (webhookUrl) {
        void this.options
          .fetch(webhookUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(alert),
            signal: AbortSignal.timeout(5_000),
          })
          .catch((error: unknown) => logger.error({ err: error, webhook: webhookUrl }, 'budget alert webhook failed'));
      }
    }
  }
}
