// Token buckets in Redis, shared by every router replica. Each admit is one Lua script, so check-and-take is atomic
// across replicas. Time comes from the caller's clock (ARGV) rather than Redis TIME so tests can use virtual time;
// replicas' clocks only need to agree to well under a second (NTP), since a bucket never refills backwards.
import type { LimitDecision, RateLimiter, RateLimits } from './contracts.ts';
import { LuaScript, type RedisSource } from '../redis-client.ts';

const LEVEL = `
local function level(key, cap, now)
  local v = redis.call('HMGET', key, 'l', 't')
  local l = tonumber(v[1])
  local t = tonumber(v[2])
  if l == nil then return cap end
  local elapsed = now - t
  if elapsed < 0 then elapsed = 0 end
  return math.min(cap, l + elapsed * cap / 60000)
end
local function store(key, l, now)
  redis.call('HSET', key, 'l', tostring(l), 't', tostring(now))
  redis.call('PEXPIRE', key, 120000)
end
`;

// KEYS: requests bucket, tokens bucket. ARGV: now ms, rpm (0 = none), tpm (0 = none), prompt tokens.
// Returns {0,0} allowed, {1, retryMs} requests refused, {2, retryMs} tokens refused.
const ADMIT = new LuaScript(`${LEVEL}
local now = tonumber(ARGV[1])
local rpm = tonumber(ARGV[2])
local tpm = tonumber(ARGV[3])
local tokens = tonumber(ARGV[4])
local rl = nil
local tl = nil
if rpm > 0 then
  rl = level(KEYS[1], rpm, now)
  if rl < 1 then return {1, math.ceil((1 - rl) * 60000 / rpm)} end
end
if tpm > 0 then
  tl = level(KEYS[2], tpm, now)
  local need = math.min(tokens, tpm)
  if tl < need then return {2, math.ceil((need - tl) * 60000 / tpm)} end
end
if rl ~= nil then store(KEYS[1], rl - 1, now) end
if tl ~= nil then store(KEYS[2], tl - tokens, now) end
return {0, 0}
`);

// KEYS: tokens bucket. ARGV: now ms, tpm, tokens (negative gives back).
const CHARGE = new LuaScript(`${LEVEL}
local now = tonumber(ARGV[1])
local tpm = tonumber(ARGV[2])
local l = level(KEYS[1], tpm, now) - tonumber(ARGV[3])
store(KEYS[1], math.min(tpm, l), now)
return 0
`);

export class RedisRateLimiter implements RateLimiter {
  private readonly clock: () => number;
  private readonly prefix: string;

  constructor(
    private readonly source: RedisSource,
    options: { prefix?: string; clock?: () => number; ownsClient?: boolean } = {},
  ) {
    this.clock = options.clock ?? Date.now;
    this.prefix = `${options.prefix ?? 'switchyard:'}rl:`;
    this.ownsClient = options.ownsClient ?? false;
  }
  private readonly ownsClient: boolean;

  async admit(keyId: string, limits: RateLimits, promptTokens: number): Promise<LimitDecision> {
    if (!limits.rpm && !limits.tpm) return { allowed: true };
    const reply = (await ADMIT.run(
      await this.source,
      [`${this.prefix}${keyId}:r`, `${this.prefix}${keyId}:t`],
      [this.clock(), limits.rpm ?? 0, limits.tpm ?? 0, promptTokens],
    )) as [number, number];
    const [code, retryAfterMs] = reply;
    if (code === 0) return { allowed: true };
    const limit = code === 1 ? 'requests' : 'tokens';
    const perMinute = (code === 1 ? limits.rpm : limits.tpm) ?? 0;
    return { allowed: false, limit, perMinute, retryAfterMs: Math.max(1, retryAfterMs) };
  }

  async charge(keyId: string, limits: RateLimits, tokens: number): Promise<void> {
    if (!limits.tpm || tokens === 0) return;
    await CHARGE.run(await this.source, [`${this.prefix}${keyId}:t`], [this.clock(), limits.tpm, tokens]);
  }

  async close(): Promise<void> {
    if (this.ownsClient) await (await this.source).close();
  }
}
