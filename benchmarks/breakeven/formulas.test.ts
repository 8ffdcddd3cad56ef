import { describe, expect, it } from 'vitest';
import {
  HOURS_PER_MONTH,
  apiCostPerMillionTokens,
  apiCostPerRequest,
  apiMonthlyCost,
  breakeven,
  realizedUtilization,
  replicasNeeded,
  selfHostedCostPerMillionOutputTokens,
  selfHostedCostPerMillionTokens,
  selfHostedMonthlyCost,
} from './formulas.ts';
import { realizedCosts } from './live.ts';

// Hand-computed case: 2 GPUs at $2/h per replica ($4/h), 10 req/s of 750 + 250 tokens (10,000 tok/s per replica).
const deployment = { gpuHourly: 2, gpusPerReplica: 2, replicaRequestsPerS: 10 };
const profile = { inputTokens: 750, outputTokens: 250 };
// API: $1 in, $3 out per 1M → a request costs (750 + 750)/1e6 = $0.0015; blended $1.5 per 1M.
const api = { name: 'test-api', input: 1, output: 3 };

describe('breakeven formulas on hand-computed cases', () => {
  it('self-hosted $/1M tokens counts every GPU of a tensor-parallel replica and the idle share', () => {
    // $4/h ÷ (10,000 tok/s × 3600 s) × 1e6 = $0.1111…; at 50% utilization twice that.
    expect(selfHostedCostPerMillionTokens(deployment, profile, 1)).toBeCloseTo(4 / 36, 12);
    expect(selfHostedCostPerMillionTokens(deployment, profile, 0.5)).toBeCloseTo(8 / 36, 12);
    // Output-only view: 2,500 output tok/s → $4/h ÷ (2,500 × 3600) × 1e6 = $0.4444…
    expect(selfHostedCostPerMillionOutputTokens(deployment, profile, 1)).toBeCloseTo(4 / 9, 12);
  });

  it('API cost per request, blended per 1M tokens and per month', () => {
    expect(apiCostPerRequest(api, profile)).toBeCloseTo(0.0015, 15);
    expect(apiCostPerMillionTokens(api, profile)).toBeCloseTo(1.5, 12);
    // 100k requests/day × 365/12 days × $0.0015.
    expect(apiMonthlyCost(api, profile, 100_000)).toBeCloseTo(100_000 * (365 / 12) * 0.0015, 6);
  });

  it('sizes the fleet by the target utilization and bills whole replicas every hour', () => {
    // One replica carries 864,000 requests/day at 100%, 691,200 at 80%.
    expect(replicasNeeded(deployment, 691_200, 0.8)).toBe(1);
    expect(replicasNeeded(deployment, 691_201, 0.8)).toBe(2);
    expect(replicasNeeded(deployment, 0, 0.8)).toBe(1);
    expect(selfHostedMonthlyCost(deployment, 2)).toBeCloseTo(4 * 2 * HOURS_PER_MONTH, 9);
    expect(HOURS_PER_MONTH).toBe(730);
    expect(realizedUtilization(deployment, 2, 864_000)).toBe(0.5);
  });

  it('breakeven: replica $/day ÷ API $/request, and the breakeven utilization', () => {
    const result = breakeven(deployment, profile, api, 0.8);
    // $96/day ÷ $0.0015 = 64,000 requests/day; self at 100% is $0.1111/1M vs $1.5/1M → 7.41%.
    expect(result.requestsPerDay).toBeCloseTo(64_000, 6);
    expect(result.utilization).toBeCloseTo(4 / 36 / 1.5, 12);
    // A full replica's load on the API costs 691,200 × 0.0015 = $1,036.8/day ≥ 2 × $96: cheaper for good from the crossing.
    expect(result.stableFromRequestsPerDay).toBeCloseTo(64_000, 6);
  });

  it('breakeven is "never" when one replica cannot carry the crossing load at the target utilization', () => {
    const dear = { ...deployment, gpuHourly: 200 };
    // $9,600/day ÷ $0.0015 = 6.4M requests/day > 691,200 carried at 80%.
    const result = breakeven(dear, profile, api, 0.8);
    expect(result.requestsPerDay).toBeNull();
    expect(result.utilization).toBeGreaterThan(1);
  });

  it('whole replicas make the API cheaper again just after steps until enough replicas amortise', () => {
    // Replica $/day M = 24 × 24 = $576; carried at 100% = 864,000 requests; API full load A = $1,296 → k ≥ A/(A − M) = 1.8 → 2.
    const pricey = { ...deployment, gpuHourly: 12 };
    const result = breakeven(pricey, profile, api, 1);
    expect(result.requestsPerDay).toBeCloseTo(384_000, 6);
    expect(result.stableFromRequestsPerDay).toBeCloseTo(384_000, 6);
    // M = $1,000/day: A/(A − M) = 1296/296 = 4.38 → from 4 full replicas (k = 5): 3 × 864,000.
    const dearer = { ...deployment, gpuHourly: 1000 / 48 };
    const stepped = breakeven(dearer, profile, api, 1);
    expect(stepped.requestsPerDay).toBeCloseTo(1000 / 0.0015, 3);
    expect(stepped.stableFromRequestsPerDay).toBeCloseTo(4 * 864_000, 3);
  });

  it('live mode arithmetic: realized utilization, $/1M and the API equivalent per pool', () => {
    const [pool] = realizedCosts(
      [
        {
          pool: 'chat',
          promptTokens: 3e6,
          completionTokens: 1e6,
          gpuSeconds: 7200,
          busyGpuSeconds: 5400,
          gpuHourly: 2,
          hostedSpend: 1,
        },
      ],
      api,
    );
    expect(pool?.utilization).toBe(0.75);
    expect(pool?.selfHostedSpend).toBe(5);
    expect(pool?.costPerMillionTokens).toBe(1.25);
    expect(pool?.apiEquivalentSpend).toBe(6);
  });
});
