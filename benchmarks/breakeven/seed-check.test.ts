import { describe, expect, it } from 'vitest';
import { GPUS } from '../../models/catalog/gpus.ts';
import { MODELS } from '../../models/catalog/models.ts';
import { loadPrices } from '../../models/catalog/prices.ts';
import { InvalidInputError } from '../loadgen/errors.ts';
import { estimateCapacity } from './estimate.ts';
import { SEED_TABLE, checkSeed } from './seed-check.ts';

const prices = loadPrices();
const profile = { inputTokens: 512, outputTokens: 256 };

describe('check the seed', () => {
  const checks = checkSeed({ prices, profile, slo: { tpotMs: 50 } });

  it('gives a verdict, a recomputation and assumptions for every claim of the seed', () => {
    const ids = checks.map((check) => check.id);
    for (const row of SEED_TABLE) {
      expect(ids).toContain(`${row.id}-throughput`);
      expect(ids).toContain(`${row.id}-cost`);
    }
    expect(ids).toContain('gpt-4o-mini-average');
    expect(ids.filter((id) => id.startsWith('breakeven-'))).toHaveLength(2);
    for (const check of checks) {
      expect(['holds', 'holds-under-assumptions', 'does-not-hold']).toContain(check.verdict);
      expect(check.recomputed.length).toBeGreaterThan(0);
      expect(check.assumptions.length).toBeGreaterThan(0);
      expect(check.detail.length).toBeGreaterThan(0);
    }
  });

  it('recomputes $/1M from the catalog price: $1.79/GPU-h at 2,500 tok/s is ~$0.199, not $0.08', () => {
    const cost = checks.find((check) => check.id === 'llama-8b-1xa100-cost');
    expect(cost?.recomputed).toContain('$0.199/1M at the claimed throughput');
    expect(cost?.verdict).not.toBe('holds');
    // The claim implies $0.08 × 2,500 × 3600 / 1e6 = $0.72 per GPU-hour.
    expect(cost?.detail).toContain('$0.720/GPU-h');
  });

  it('a GPU price given on the command line flips the verdict to "holds"', () => {
    const cheap = checkSeed({ prices, profile, slo: { tpotMs: 50 }, gpuHourly: { 'a100-80gb': 0.72 } });
    expect(cheap.find((check) => check.id === 'llama-8b-1xa100-cost')?.verdict).toBe('holds');
    expect(cheap.find((check) => check.id === 'llama-8b-1xa100-cost')?.assumptions.join(' ')).toContain('(given)');
  });

  it('GPT-4o-mini at $0.60 "average" holds only for output-only traffic', () => {
    expect(checks.find((check) => check.id === 'gpt-4o-mini-average')?.verdict).toBe('does-not-hold');
    const outputHeavy = checkSeed({ prices, profile: { inputTokens: 1, outputTokens: 1000 }, slo: { tpotMs: 50 } });
    expect(outputHeavy.find((check) => check.id === 'gpt-4o-mini-average')?.verdict).toBe('holds');
  });

  it('the breakeven claim fails when GPUs are expensive enough', () => {
    const dear = checkSeed({ prices, profile, slo: { tpotMs: 50 }, gpuHourly: { 'a100-80gb': 40, a10g: 40 } });
    for (const check of dear.filter((item) => item.id.startsWith('breakeven-')))
      expect(check.verdict).toBe('does-not-hold');
  });
});

describe('capacity estimate from the step-time model', () => {
  const base = { model: MODELS['llama-3.1-8b'], gpu: GPUS['a100-80gb'], tensorParallel: 1, profile };

  it('a looser TPOT SLO allows a larger batch and more throughput, within the SLO', () => {
    const tight = estimateCapacity({ ...base, slo: { tpotMs: 25 } });
    const loose = estimateCapacity({ ...base, slo: { tpotMs: 60 } });
    expect(loose.batch).toBeGreaterThan(tight.batch);
    expect(loose.totalTokensPerS).toBeGreaterThan(tight.totalTokensPerS);
    expect(tight.tpotMs).toBeLessThanOrEqual(25);
    expect(loose.totalTokensPerS).toBeCloseTo(loose.requestsPerS * 768, 6);
  });

  it('a faster GPU serves more, and a small KV cache limits the batch', () => {
    const a100 = estimateCapacity({ ...base, slo: { tpotMs: 50 } });
    const h100 = estimateCapacity({ ...base, gpu: GPUS.h100, slo: { tpotMs: 50 } });
    expect(h100.totalTokensPerS / a100.totalTokensPerS).toBeGreaterThan(1.3);
    const a10g = estimateCapacity({
      ...base,
      model: MODELS['mistral-7b'],
      gpu: GPUS.a10g,
      profile: { inputTokens: 4000, outputTokens: 1000 },
      slo: { tpotMs: 500 },
    });
    expect(a10g.limitedBy).toBe('kv-cache');
    expect(a10g.batch * 5000).toBeLessThanOrEqual(a10g.kvCapacityTokens);
  });

  it('explains impossible SLOs and deployments that do not fit', () => {
    expect(() => estimateCapacity({ ...base, slo: { tpotMs: 1 } })).toThrow(/no batch meets the SLO/);
    expect(() => estimateCapacity({ ...base, model: MODELS['llama-3.1-70b'], slo: { tpotMs: 50 } })).toThrow(
      InvalidInputError,
    );
  });
});
