// In-memory budget ledger for one router process: each method runs to completion without awaiting, so it is atomic.
import type { BudgetLedger, BudgetScope, Reservation, ReserveResult, SettledScope } from './contracts.ts';

interface ScopeState {
  committed: number;
  spent: number;
}

export class MemoryBudgetLedger implements BudgetLedger {
  private readonly scopes = new Map<string, ScopeState>();
  private readonly alerts = new Set<string>();

  private scope(scope: BudgetScope): ScopeState {
    let state = this.scopes.get(scope.id);
    if (!state) {
      state = { committed: scope.seedNanos, spent: scope.seedNanos };
      this.scopes.set(scope.id, state);
    }
    return state;
  }

  reserve(scopes: readonly BudgetScope[], amountNanos: number): ReserveResult {
    const states = scopes.map((scope) => this.scope(scope));
    for (const [index, state] of states.entries()) {
      const scope = scopes[index] as BudgetScope;
      if (state.committed + amountNanos > scope.limitNanos)
        return { ok: false, scope, committedNanos: state.committed };
    }
    for (const state of states) state.committed += amountNanos;
    return { ok: true, reservation: { scopes, amountNanos } };
  }

  settle(reservation: Reservation, actualNanos: number): SettledScope[] {
    const actual = Math.max(0, Math.min(actualNanos, reservation.amountNanos));
    return reservation.scopes.map((scope) => {
      const state = this.scope(scope);
      const before = state.spent;
      state.committed += actual - reservation.amountNanos;
      state.spent += actual;
      return { scope, spentBeforeNanos: before, spentAfterNanos: state.spent };
    });
  }

  async release(reservation: Reservation): Promise<void> {
    for (const scope of reservation.scopes) this.scope(scope).committed -= reservation.amountNanos;
  }

  async state(scopeId: string): Promise<{ committedNanos: number; spentNanos: number }> {
    const state = this.scopes.get(scopeId);
    return { committedNanos: state?.committed ?? 0, spentNanos: state?.spent ?? 0 };
  }

  async markAlert(scopeId: string, threshold: number): Promise<boolean> {
    const id = `${scopeId}@${threshold}`;
    if (this.alerts.has(id)) return false;
    this.alerts.add(id);
    return true;
  }

  async close(): Promise<void> {
    this.scopes.clear();
  }
}
