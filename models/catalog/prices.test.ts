import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GpuId } from './gpus.ts';
import { gpuHourlyPrice, hostedCost, loadPrices } from './prices.ts';

describe('price file', () => {
  const prices = loadPrices();

  it('prices every catalog GPU and names a source and date for each', () => {
    for (const gpu of GpuId.options) {
      expect(gpuHourlyPrice(prices, gpu)).toBeGreaterThan(0);
      expect(prices.gpus[gpu]?.source.length).toBeGreaterThan(0);
    }
    expect(gpuHourlyPrice(prices, 'a100-80gb', 4)).toBeCloseTo(4 * (prices.gpus['a100-80gb']?.hourly ?? 0));
  });

  it('holds the seed hosted prices and costs a call from them', () => {
    const mini = prices.hosted['gpt-4o-mini'];
    expect(mini).toMatchObject({ input: 0.15, output: 0.6 });
    if (!mini) throw new Error('gpt-4o-mini missing');
    expect(hostedCost(mini, 1_000_000, 1_000_000)).toBeCloseTo(0.75);
  });

  it('rejects an edited file with a clear path', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'prices-')), 'prices.yaml');
    writeFileSync(path, 'gpus:\n  h100: { hourly: -1, source: x, date: "2025-01" }\nhosted: {}\n');
    expect(() => loadPrices(path)).toThrow(/gpus\.h100\.hourly/);
  });
});
