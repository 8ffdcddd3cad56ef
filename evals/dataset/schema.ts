// The JSONL eval-set format (one case per line) and the optional YAML suite file around it. Assertions are kept raw
// here and validated against the metric registry at load time (see load.ts), so this file knows no metric.
import { z } from 'zod';

export const ChatMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});

const VariablesSchema = z.record(z.string(), z.string());

/** A case's input: literal messages, a prompt template with {{variables}}, or a prompt-registry reference. */
export const CaseInputSchema = z.union([
  z.strictObject({ messages: z.array(ChatMessageSchema).min(1) }),
  z.strictObject({ prompt: z.string().min(1), system: z.string().optional(), variables: VariablesSchema.optional() }),
  z.strictObject({
    promptRef: z.strictObject({ name: z.string().min(1), version: z.string().optional() }),
    variables: VariablesSchema.optional(),
  }),
]);
export type CaseInput = z.infer<typeof CaseInputSchema>;

/** Every assertion names its metric in `type`; the rest is that metric's parameters. */
export const RawAssertionSchema = z.looseObject({
  type: z.string().min(1),
  /** Name in reports and baselines (defaults to `type`); needed when one case uses a metric twice. */
  id: z.string().min(1).optional(),
  /** false keeps the metric out of the baseline gate (reported only). */
  gate: z.boolean().optional(),
});
export type RawAssertion = z.infer<typeof RawAssertionSchema>;

export const EvalCaseSchema = z.strictObject({
  id: z.string().min(1),
  input: CaseInputSchema,
  /** The exact expected output, for exact / contains / starts-with style checks. */
  expected: z.string().optional(),
  /** A reference answer, for semantic metrics and pairwise judging. */
  reference: z.string().optional(),
  /** Reference (or retrieved) context the answer must be faithful to. */
  context: z.array(z.string()).optional(),
  /** Judged documents for this case (docno → grade), for the per-case `retrieval` metric. */
  relevantDocuments: z.record(z.string(), z.number().int()).optional(),
  tags: z.array(z.string()).default([]),
  assertions: z.array(RawAssertionSchema).default([]),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type EvalCase = z.infer<typeof EvalCaseSchema>;

/** Sampling parameters sent with every target request of the suite. */
export const RequestDefaultsSchema = z.strictObject({
  temperature: z.number().min(0).max(2).optional(),
  max_tokens: z.number().int().positive().optional(),
  seed: z.number().int().optional(),
});

export const SuiteFileSchema = z.strictObject({
  name: z.string().min(1),
  /** Path of the JSONL cases, relative to the suite file. */
  cases: z.string().min(1),
  description: z.string().optional(),
  /** A registry prompt version (`name@version`, or `name` for the active one) evaluated over the cases. */
  prompt: z
    .string()
    .regex(/^[\w.-]+(@[\w.-]+)?$/, 'use name or name@version')
    .optional(),
  defaults: z
    .strictObject({
      assertions: z.array(RawAssertionSchema).default([]),
      request: RequestDefaultsSchema.default({}),
      /** Values for the suite prompt's variables where a case gives none. */
      variables: z.record(z.string(), z.string()).optional(),
    })
    .default({ assertions: [], request: {} }),
});
export type SuiteFile = z.infer<typeof SuiteFileSchema>;
