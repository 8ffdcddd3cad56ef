// Conformance suite every BudgetLedger implementation runs (memory, Redis).
import { expect, it } from 'vitest';
import type { BudgetLedger, BudgetScope } from './contracts.ts';

export interface LedgerHarness {
  ledger: BudgetLedger;
  scope(limitNanos: number, seedNanos?: number): BudgetScope;
}

export function budgetLedgerConformance(make: () => LedgerHarness): void {
  it('reserves, settles the real amount and releases', async () => {
    const { ledger, scope } = make();
    const day = scope(1_000);
    const first = await ledger.reserve([day], 600);
    expect(first.ok).toBe(true);
    expect((await ledger.reserve([day], 500)).ok).toBe(false);
    if (!first.ok) return;
    const settled = await ledger.settle(first.reservation, 200);
    expect(settled).toEqual([{ scope: day, spentBeforeNanos: 0, spentAfterNanos: 200 }]);
    expect(await ledger.state(day.id)).toEqual({ committedNanos: 200, spentNanos: 200 });
    const second = await ledger.reserve([day], 800);
    expect(second.ok).toBe(true);
    if (!second.ok) return;
    await ledger.release(second.reservation);
    expect(await ledger.state(day.id)).toEqual({ committedNanos: 200, spentNanos: 200 });
  });

  it('never settles more than was reserved', async () => {
    const { ledger, scope } = make();
    const day = scope(1_000);
    const reserved = await ledger.reserve([day], 100);
    if (!reserved.ok) throw new Error('reserve failed');
    await ledger.settle(reserved.reservation, 5_000);
    expect(await ledger.state(day.id)).toEqual({ committedNanos: 100, spentNanos: 100 });
  });

  it('checks every scope and changes none when one is full', async () => {
    const { ledger, scope } = make();
    const day = scope(1_000);
    const month = scope(500, 450);
    const result = await ledger.reserve([day, month], 100);
    expect(result).toMatchObject({ ok: false, scope: month, committedNanos: 450 });
    expect((await ledger.state(day.id)).committedNanos).toBe(0);
  });

  it('starts a new scope from its seed (spend recorded before a restart)', async () => {
    const { ledger, scope } = make();
    const day = scope(1_000, 900);
    expect((await ledger.reserve([day], 101)).ok).toBe(false);
    expect((await ledger.reserve([day], 100)).ok).toBe(true);
  });

  it('100 concurrent reservations against a nearly spent budget never overshoot', async () => {
    const { ledger, scope } = make();
    const budget = scope(10_000, 9_000);
    const results = await Promise.all(Array.from({ length: 100 }, () => ledger.reserve([budget], 75)));
    const accepted = results.filter((result) => result.ok);
    expect(accepted).toHaveLength(13);
    await Promise.all(accepted.map((result) => (result.ok ? ledger.settle(result.reservation, 75) : undefined)));
    const state = await ledger.state(budget.id);
    expect(state.spentNanos).toBe(9_975);
    expect(state.spentNanos).toBeLessThanOrEqual(10_000);
  });

  it('marks an alert only once per scope and threshold', async () => {
    const { ledger, scope } = make();
    const day = scope(1_000);
    expect(await ledger.markAlert(day.id, 0.8, 60)).toBe(true);
    expect(await ledger.markAlert(day.id, 0.8, 60)).toBe(false);
    expect(await ledger.markAlert(day.id, 1, 60)).toBe(true);
  });
}
