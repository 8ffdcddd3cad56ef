// The benchmark configuration as zod schemas: the CLI builds one from flags, the result file stores it verbatim, and
// `bench compare` reads it back through the same schema.
import { z } from 'zod';

/** A length distribution in tokens. */
export const LengthDistribution = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fixed'), value: z.number().int().positive() }),
  z.object({ kind: z.literal('uniform'), min: z.number().int().positive(), max: z.number().int().positive() }),
  z.object({
    kind: z.literal('normal'),
    mean: z.number().positive(),
    std: z.number().nonnegative(),
    min: z.number().int().positive().default(1),
    max: z.number().int().positive().optional(),
  }),
  z.object({
    kind: z.literal('histogram'),
    bins: z.array(z.object({ value: z.number().int().positive(), weight: z.number().positive() })).min(1),
  }),
]);
export type LengthDistribution = z.infer<typeof LengthDistribution>;

export const WorkloadSpec = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('synthetic'), input: LengthDistribution, output: LengthDistribution }),
  z.object({
    kind: z.literal('sharegpt'),
    path: z.string().min(1),
    /** Overrides the reference completion's length as the output length. */
    output: LengthDistribution.optional(),
  }),
  z.object({ kind: z.literal('jsonl'), path: z.string().min(1), output: LengthDistribution }),
  z.object({
    kind: z.literal('rag'),
    /** Distinct long contexts; requests pick one at random, so prefix caches see sharing. */
    contexts: z.number().int().positive(),
    contextTokens: z.number().int().positive(),
    questionTokens: LengthDistribution,
    output: LengthDistribution,
  }),
]);
export type WorkloadSpec = z.infer<typeof WorkloadSpec>;

export const LoadMode = z.discriminatedUnion('kind', [
  /** N workers, each sends its next request when the previous one ends. */
  z.object({ kind: z.literal('closed'), concurrency: z.number().int().positive() }),
  /** Arrivals at `rate` requests/s regardless of completions, optionally capped at `maxConcurrency` in flight. */
  z.object({
    kind: z.literal('open'),
    rate: z.number().positive(),
    arrival: z.enum(['poisson', 'constant']).default('poisson'),
    maxConcurrency: z.number().int().positive().optional(),
  }),
]);
export type LoadMode = z.infer<typeof LoadMode>;

/** SLOs for goodput, in ms; a request is "good" when it meets every one given (vLLM's `--goodput`). */
export const GoodputSlo = z
  .object({
    ttft: z.number().positive().optional(),
    tpot: z.number().positive().optional(),
    e2el: z.number().positive().optional(),
  })
  .strict();
export type GoodputSlo = z.infer<typeof GoodputSlo>;

export const BenchConfig = z
  .object({
    baseUrl: z.url(),
    apiKey: z.string().optional(),
    model: z.string().min(1),
    endpoint: z.enum(['chat', 'completions']).default('chat'),
    stream: z.boolean().default(true),
    /** Send `ignore_eos: true` (vLLM and the simulator honour it) so outputs have exactly `max_tokens` tokens. */
    ignoreEos: z.boolean().default(true),
    mode: LoadMode,
    /** A ladder of concurrencies (closed) or rates (open); one run per step, in order. Empty = the mode's own. */
    sweep: z.array(z.number().positive()).default([]),
    workload: WorkloadSpec,
    /** Requests per run (per sweep step). At least one of `requests` / `durationS` bounds each run. */
    requests: z.number().int().positive().optional(),
    durationS: z.number().positive().optional(),
    warmupRequests: z.number().int().nonnegative().default(0),
    /** After the run's bound, in-flight requests get this long to finish before they are cancelled. */
    drainTimeoutS: z.number().nonnegative().default(30),
    requestTimeoutS: z.number().positive().default(600),
    seed: z.number().int().default(0),
    goodput: GoodputSlo.default({}),
    percentiles: z.array(z.number().min(0).max(100)).default([50, 90, 95, 99]),
  })
  .refine((config) => config.requests !== undefined || config.durationS !== undefined, {
    message: 'give --requests and/or --duration so the run stops by itself',
    path: ['requests'],
  })
  .refine((config) => config.stream || (config.goodput.ttft === undefined && config.goodput.tpot === undefined), {
    message: 'TTFT/TPOT goodput SLOs need streaming (non-streaming responses have no first-token time)',
    path: ['goodput'],
  });
export type BenchConfig = z.infer<typeof BenchConfig>;
export type BenchConfigInput = z.input<typeof BenchConfig>;
