// Budget ledger in Redis: one hash per scope {c: committed, s: spent} in integer nano-dollars. reserve / settle /
// release are single Lua scripts, so the check and the increment happen in one atomic step across every replica
// (the check-then-increment race that lets concurrent requests overshoot a budget cannot happen).
import type { BudgetLedger, BudgetScope, Reservation, ReserveResult, SettledScope } from './contracts.ts';
import { LuaScript, type RedisSource } from '../redis-client.ts';

// KEYS: scope hashes. ARGV: amount, then per scope: limit, seed, ttl. Returns {0} or {index (1-based), committed}.
const RESERVE = new LuaScript(`
local amount = tonumber(ARGV[1])
local committed = {}
for i, key in ipairs(KEYS) do
  local base = 1 + (i - 1) * 3
  local limit = tonumber(ARGV[base + 1])
  local seed = ARGV[base + 2]
  if redis.call('HSETNX', key, 'c', seed) == 1 then
    redis.call('HSET', key, 's', seed)
    redis.call('EXPIRE', key, tonumber(ARGV[base + 3]))
  end
  local c = tonumber(redis.call('HGET', key, 'c'))
  if c + amount > limit then return {i, c} end
  committed[i] = c
end
for i, key in ipairs(KEYS) do redis.call('HINCRBY', key, 'c', amount) end
return {0}
`);

// KEYS: scope hashes. ARGV: reserved, actual. Returns spent-before values, one per scope.
const SETTLE = new LuaScript(`
local reserved = tonumber(ARGV[1])
local actual = tonumber(ARGV[2])
local before = {}
for i, key in ipairs(KEYS) do
  before[i] = tonumber(redis.call('HGET', key, 's') or '0')
  redis.call('HINCRBY', key, 'c', actual - reserved)
  redis.call('HINCRBY', key, 's', actual)
end
return before
`);

const RELEASE = new LuaScript(`
for i, key in ipairs(KEYS) do redis.call('HINCRBY', key, 'c', -tonumber(ARGV[1])) end
return 0
`);

export class RedisBudgetLedger implements BudgetLedger {
  private readonly prefix: string;
  private readonly ownsClient: boolean;

  constructor(
    private readonly source: RedisSource,
    options: { prefix?: string; ownsClient?: boolean } = {},
  ) {
    this.prefix = `${options.prefix ?? 'switchyard:'}budget:`;
    this.ownsClient = options.ownsClient ?? false;
  }

  private keys(scopes: readonly BudgetScope[]): string[] {
    return scopes.map((scope) => this.prefix + scope.id);
  }

  async reserve(scopes: readonly BudgetScope[], amountNanos: number): Promise<ReserveResult> {
    const args: Array<string | number> = [amountNanos];
    for (const scope of scopes) args.push(scope.limitNanos, Math.round(scope.seedNanos), Math.ceil(scope.ttlSeconds));
    const reply = (await RESERVE.run(await this.source, this.keys(scopes), args)) as number[];
    const index = reply[0] ?? 0;
    if (index === 0) return { ok: true, reservation: { scopes, amountNanos } };
    return { ok: false, scope: scopes[index - 1] as BudgetScope, committedNanos: reply[1] ?? 0 };
  }

  async settle(reservation: Reservation, actualNanos: number): Promise<SettledScope[]> {
    const actual = Math.max(0, Math.min(Math.round(actualNanos), reservation.amountNanos));
    const before = (await SETTLE.run(await this.source, this.keys(reservation.scopes), [
      reservation.amountNanos,
      actual,
    ])) as number[];
    return reservation.scopes.map((scope, index) => ({
      scope,
      spentBeforeNanos: before[index] ?? 0,
      spentAfterNanos: (before[index] ?? 0) + actual,
    }));
  }

  async release(reservation: Reservation): Promise<void> {
    await RELEASE.run(await this.source, this.keys(reservation.scopes), [reservation.amountNanos]);
  }

  async state(scopeId: string): Promise<{ committedNanos: number; spentNanos: number }> {
    const values = await (await this.source).hmGet(this.prefix + scopeId, ['c', 's']);
    return { committedNanos: Number(values[0] ?? 0), spentNanos: Number(values[1] ?? 0) };
  }

  async markAlert(scopeId: string, threshold: number, ttlSeconds: number): Promise<boolean> {
    const reply = await (
      await this.source
    ).set(`${this.prefix}alert:${scopeId}@${threshold}`, '1', {
      NX: true,
      EX: Math.max(1, Math.ceil(ttlSeconds)),
    });
    return reply === 'OK';
  }

  async close(): Promise<void> {
    if (this.ownsClient) await (await this.source).close();
  }
}
