// The limiter and ledger conformance suites against memory and a real redis-server on loopback.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe } from 'vitest';
import { budgetLedgerConformance } from './budgets/conformance.ts';
import { MemoryBudgetLedger } from './budgets/memory.ts';
import { RedisBudgetLedger } from './budgets/redis.ts';
import { rateLimiterConformance } from './limits/conformance.ts';
import { MemoryRateLimiter } from './limits/memory.ts';
import { RedisRateLimiter } from './limits/redis.ts';
import { connectRedis, type RedisConnection } from './redis-client.ts';
import { startRedisServer, type RunningRedis } from './testing/binaries.ts';

const scopeFactory =
  () =>
  (limitNanos: number, seedNanos = 0) => ({
    id: `scope-${randomUUID()}`,
    limitNanos,
    seedNanos,
    ttlSeconds: 600,
  });

describe('memory rate limiter', () => {
  rateLimiterConformance(() => {
    let now = 1_000_000;
    return {
      limiter: new MemoryRateLimiter({ clock: () => now }),
      advance: (ms) => (now += ms),
      key: () => `key-${randomUUID()}`,
    };
  });
});

describe('memory budget ledger', () => {
  budgetLedgerConformance(() => ({ ledger: new MemoryBudgetLedger(), scope: scopeFactory() }));
});

describe('redis (real redis-server)', () => {
  let redis: RunningRedis;
  let client: RedisConnection;
  beforeAll(async () => {
    redis = await startRedisServer();
    client = await connectRedis(redis.url);
  });
  afterAll(async () => {
    await client?.close();
    await redis?.close();
  });

  describe('rate limiter', () => {
    rateLimiterConformance(() => {
      let now = 1_000_000;
      return {
        limiter: new RedisRateLimiter(client, { clock: () => now, prefix: `t${randomUUID()}:` }),
        advance: (ms) => (now += ms),
        key: () => `key-${randomUUID()}`,
      };
    });
  });

  describe('budget ledger', () => {
    budgetLedgerConformance(() => ({
      ledger: new RedisBudgetLedger(client, { prefix: `t${randomUUID()}:` }),
      scope: scopeFactory(),
    }));
  });
});
