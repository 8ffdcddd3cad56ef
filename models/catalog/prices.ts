// Loads prices.yaml (or a file named by SWITCHYARD_PRICES) through a zod schema, so an edited file is checked.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { GpuId } from './gpus.ts';

const Sourced = z.object({ source: z.string().min(1), date: z.string().regex(/^\d{4}-\d{2}(-\d{2})?$/) });

export const PriceFile = z.object({
  gpus: z.partialRecord(GpuId, Sourced.extend({ hourly: z.number().positive() })),
  hosted: z.record(
    z.string(),
    Sourced.extend({ provider: z.string(), input: z.number().nonnegative(), output: z.number().nonnegative() }),
  ),
});
export type PriceFile = z.infer<typeof PriceFile>;
export type HostedPrice = PriceFile['hosted'][string];

export const DEFAULT_PRICES_PATH = fileURLToPath(new URL('./prices.yaml', import.meta.url));

export function loadPrices(path: string = process.env['SWITCHYARD_PRICES'] ?? DEFAULT_PRICES_PATH): PriceFile {
  const parsed = PriceFile.safeParse(parse(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new Error(`invalid price file ${path}: ${first?.path.join('.') ?? ''}: ${first?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** $ per hour for `count` GPUs of a kind; throws when the price file has no entry (never silently $0). */
export function gpuHourlyPrice(prices: PriceFile, gpu: GpuId, count = 1): number {
  const entry = prices.gpus[gpu];
  if (!entry) throw new Error(`no hourly price for GPU "${gpu}" in the price file`);
  return entry.hourly * count;
}

/** $ for a hosted call. */
export function hostedCost(price: HostedPrice, promptTokens: number, completionTokens: number): number {
  return (promptTokens * price.input + completionTokens * price.output) / 1e6;
}
