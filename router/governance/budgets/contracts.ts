// Types-only contract of the budget ledger. Money is in integer nano-dollars (1e-9 $) so Redis can add it exactly.
// Each scope (a key's day or month) keeps `committed` (settled spend + open reservations) and `spent` (settled only).
// reserve checks committed + amount ≤ limit for every scope and adds to all of them in one atomic step, so concurrent
// requests can never overshoot; settle swaps the reservation for the real amount (never more than reserved); release
// gives a reservation back. Implementations: in-memory, Redis + Lua. Both pass budgets/conformance.ts.

export interface BudgetScope {
  /** e.g. `key_ab12:day:2026-11-27`. */
  id: string;
  limitNanos: number;
  /** Spend already recorded elsewhere (the SQLite spend table) for a scope the ledger has not seen yet. */
  seedNanos: number;
  /** How long the scope is kept after its period (seconds). */
  ttlSeconds: number;
}

export interface Reservation {
  readonly scopes: readonly BudgetScope[];
  readonly amountNanos: number;
}

export type ReserveResult =
  { ok: true; reservation: Reservation } | { ok: false; scope: BudgetScope; committedNanos: number };

export interface SettledScope {
  scope: BudgetScope;
  spentBeforeNanos: number;
  spentAfterNanos: number;
}

/**
 * `reserve` and `settle` may answer synchronously (the in-memory ledger) or with a promise (Redis): callers on the
 * request path await only real promises, since every await is a microtask hop.
 */
export interface BudgetLedger {
  reserve(scopes: readonly BudgetScope[], amountNanos: number): ReserveResult | Promise<ReserveResult>;
  /** Replaces the reservation by `actualNanos` (clamped to the reserved amount); returns spend before/after per scope. */
  settle(reservation: Reservation, actualNanos: number): SettledScope[] | Promise<SettledScope[]>;
  release(reservation: Reservation): Promise<void>;
  state(scopeId: string): Promise<{ committedNanos: number; spentNanos: number }>;
  /** True only the first time an alert is marked for a scope and threshold (per replica set, for Redis). */
  markAlert(scopeId: string, threshold: number, ttlSeconds: number): Promise<boolean>;
  close(): Promise<void>;
}

export const NANOS_PER_USD = 1e9;

export function usdToNanos(usd: number, round: 'up' | 'nearest' = 'nearest'): number {
  const value = usd * NANOS_PER_USD;
  return round === 'up' ? Math.ceil(value - 1e-6) : Math.round(value);
}
