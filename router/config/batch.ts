// The `batch` config section (zod; types inferred). Every limit and threshold of the Batch API lives here.
import { z } from 'zod';

export const BatchAdmissionConfig = z.strictObject({
  /** Pause batch dispatching for a model while its pool's mean KV-cache usage is at or above this. */
  kvUsageMax: z.number().min(0).max(1).default(0.7),
  /** … or while more than this many requests wait in the engines' queues. */
  waitingMax: z.number().int().nonnegative().default(0),
  /**
   * … or while more than this many interactive requests are in flight to the pool (null: no limit). Default 0: batch
   * work only fills time the pool would otherwise idle (benchmarks/batch-priority.ts: TTFT p99 +0.6 % at 0, +93 %
   * with only the KV/queue gates).
   */
  interactiveInFlightMax: z.number().int().nonnegative().nullable().default(0),
  /** Batch requests in flight per model at most (the batch's own footprint on the pool). */
  maxInFlightPerModel: z.number().int().positive().default(8),
  /** Abort in-flight batch requests (re-queued, no attempt used) when interactive requests start to queue. */
  preemptInFlight: z.boolean().default(true),
});

export const BatchConfig = z.strictObject({
  /** Largest accepted upload. */
  maxFileBytes: z
    .number()
    .int()
    .positive()
    .default(200 * 1024 * 1024),
  /** Lines (requests) per input file. */
  maxLines: z.number().int().positive().default(50_000),
  /** Bytes per input line. */
  maxLineBytes: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /** Validation errors reported per batch (the rest are counted in the last message). */
  maxReportedErrors: z.number().int().positive().default(50),
  admission: BatchAdmissionConfig.prefault({}),
  retries: z
    .strictObject({
      /** Attempts per request (first included) before the line goes to the error file. */
      maxAttempts: z.number().int().min(1).max(50).default(5),
      initialDelayMs: z.number().int().nonnegative().default(1_000),
      maxDelayMs: z.number().int().nonnegative().default(60_000),
    })
    .prefault({}),
  /** Hosted spill-over for batches whose metadata allows it: only when this close to expiry, or when the recent
   * throughput cannot finish the remaining requests in time. */
  hostedSpill: z
    .strictObject({
      atRiskWithinMs: z
        .number()
        .int()
        .nonnegative()
        .default(2 * 60 * 60 * 1000),
      maxInFlight: z.number().int().positive().default(16),
    })
    .prefault({}),
  /** How often the scheduler looks at load and queues (it is also woken by every event). */
  pollIntervalMs: z.number().int().positive().default(200),
  /** The completion window `24h` in ms (overridable for demos). */
  windowMs: z
    .number()
    .int()
    .positive()
    .default(24 * 60 * 60 * 1000),
});
export type BatchConfig = z.infer<typeof BatchConfig>;
export type BatchConfigInput = z.input<typeof BatchConfig>;

/** Metadata key a client sets to "true" to let an at-risk batch spill to hosted APIs. */
export const ALLOW_HOSTED_METADATA_KEY = 'switchyard_allow_hosted';

/** The `batch` section of switchyard.yaml: the Batch API's settings plus where it keeps its data. */
export const BatchSectionConfig = BatchConfig.extend({
  /** Serve /v1/files and /v1/batches (default true). */
  enabled: z.boolean().default(true),
  /** Storage directory (SQLite + files); default $SWITCHYARD_BATCH_DIR or ./.switchyard/batch. One router per root. */
  root: z.string().min(1).optional(),
});
export type BatchSectionConfig = z.infer<typeof BatchSectionConfig>;
