// Fault injection: a replica-wide config (sampled per request with a seeded PRNG) and a per-request `x-sim-fault`
// header in the same `key=value;key=value` syntax. See README.md for the list.
import { z } from 'zod';
import { InvalidRequestError } from '../../core/errors.ts';
import { createRandom } from './tokenizer.ts';

export const FaultStatus = z.union([z.literal(429), z.literal(500), z.literal(503)]);
export type FaultStatus = z.infer<typeof FaultStatus>;

export const FaultConfig = z.strictObject({
  /** Probability that a request fails with one of `errorStatuses`. */
  errorRate: z.number().min(0).max(1).default(0),
  errorStatuses: z.array(FaultStatus).min(1).default([500]),
  retryAfterSeconds: z.number().min(0).default(1),
  /** Simulated ms added before each request reaches the engine. */
  addedLatencyMs: z.number().min(0).default(0),
  hangAfterTokens: z.number().int().min(0).optional(),
  dropAfterTokens: z.number().int().min(0).optional(),
  /** The replica crashes when this many requests have arrived. */
  crashAfterRequests: z.number().int().min(1).optional(),
});
export type FaultConfig = z.infer<typeof FaultConfig>;
export type FaultConfigInput = z.input<typeof FaultConfig>;

/** What happens to one request. */
export interface RequestFaults {
  error?: { status: FaultStatus; retryAfterSeconds: number };
  latencyMs: number;
  hangAfterTokens?: number;
  dropAfterTokens?: number;
  /** Crash before answering (0) or after this many tokens. */
  crashAfterTokens?: number;
}

/** A fault spec (flag, config or `x-sim-fault` header) that does not parse: the caller's mistake, a 400. */
export class FaultSpecError extends InvalidRequestError {}

/**
 * Parse the fault syntax ("error=429;retry-after=2", "latency=200", "drop-after=3", "crash"). The config-only items
 * `rate=P` and `crash-requests=N` (crash when the N-th request arrives) are returned beside the request faults.
 */
export function parseFaultSpec(spec: string): { request: RequestFaults; rate?: number; crashAfterRequests?: number } {
  const request: RequestFaults = { latencyMs: 0 };
  let rate: number | undefined;
  let status: FaultStatus | undefined;
  let retryAfter = 1;
  let crashAfterRequests: number | undefined;
  for (const rawItem of spec.split(/[;,]/)) {
    const item = rawItem.trim();
    if (item.length === 0) continue;
    const [rawKey, rawValue] = item.split('=', 2).map((part) => part.trim());
    const key = (rawKey ?? '').toLowerCase();
    const number = (): number => {
      const value = Number(rawValue);
      if (rawValue === undefined || rawValue === '' || !Number.isFinite(value) || value < 0) {
        throw new FaultSpecError(`x-sim-fault: "${item}" needs a non-negative number`);
      }
      return value;
    };
    const integer = (): number => {
      const value = number();
      if (!Number.isInteger(value)) throw new FaultSpecError(`x-sim-fault: "${item}" needs an integer`);
      return value;
    };
    switch (key) {
      case 'error': {
        const parsed = FaultStatus.safeParse(integer());
        if (!parsed.success) throw new FaultSpecError(`x-sim-fault: error must be 429, 500 or 503, got "${rawValue}"`);
        status = parsed.data;
        break;
      }
      case 'retry-after':
        retryAfter = number();
        break;
      case 'latency':
        request.latencyMs = number();
        break;
      case 'hang-after':
        request.hangAfterTokens = integer();
        break;
      case 'drop-after':
        request.dropAfterTokens = integer();
        break;
      case 'crash':
        request.crashAfterTokens = 0;
        break;
      case 'crash-after':
        request.crashAfterTokens = integer();
        break;
      case 'crash-requests':
        crashAfterRequests = integer();
        if (crashAfterRequests < 1) throw new FaultSpecError('x-sim-fault: crash-requests must be ≥ 1');
        break;
      case 'rate': {
        const value = number();
        if (value > 1) throw new FaultSpecError('x-sim-fault: rate must be within [0, 1]');
        rate = value;
        break;
      }
      default:
        throw new FaultSpecError(`x-sim-fault: unknown item "${item}"`);
    }
  }
  if (status !== undefined) request.error = { status, retryAfterSeconds: retryAfter };
  const parsed: { request: RequestFaults; rate?: number; crashAfterRequests?: number } = { request };
  if (rate !== undefined) parsed.rate = rate;
  if (crashAfterRequests !== undefined) parsed.crashAfterRequests = crashAfterRequests;
  return parsed;
}

/** Turn the CLI's `--fault` spec into a replica-wide FaultConfig. */
export function faultConfigFromSpec(spec: string): FaultConfigInput {
  const { request, rate, crashAfterRequests } = parseFaultSpec(spec);
  const config: FaultConfigInput = { addedLatencyMs: request.latencyMs };
  if (crashAfterRequests !== undefined) config.crashAfterRequests = crashAfterRequests;
  if (request.error) {
    config.errorRate = rate ?? 1;
    config.errorStatuses = [request.error.status];
    config.retryAfterSeconds = request.error.retryAfterSeconds;
  }
  if (request.hangAfterTokens !== undefined) config.hangAfterTokens = request.hangAfterTokens;
  if (request.dropAfterTokens !== undefined) config.dropAfterTokens = request.dropAfterTokens;
  return config;
}

/** Decides each request's faults from the config, the request counter and the header. */
export class FaultInjector {
  private config: FaultConfig;
  private readonly random: () => number;
  private requests = 0;

  constructor(config: FaultConfig, seed = 0) {
    this.config = config;
    this.random = createRandom(seed ^ 0x9e3779b9);
  }

  /** Replace the replica-wide faults at run time (tests flip a replica unhealthy and back). */
  setConfig(config: FaultConfig): void {
    this.config = config;
  }

  get current(): FaultConfig {
    return this.config;
  }

  /** Throws FaultSpecError for a malformed header. */
  forRequest(header: string | undefined): RequestFaults {
    this.requests++;
    const faults: RequestFaults = { latencyMs: this.config.addedLatencyMs };
    if (this.config.errorRate > 0 && this.random() < this.config.errorRate) {
      const statuses = this.config.errorStatuses;
      const status = statuses[Math.floor(this.random() * statuses.length)] ?? 500;
      faults.error = { status, retryAfterSeconds: this.config.retryAfterSeconds };
    }
    if (this.config.hangAfterTokens !== undefined) faults.hangAfterTokens = this.config.hangAfterTokens;
    if (this.config.dropAfterTokens !== undefined) faults.dropAfterTokens = this.config.dropAfterTokens;
    if (this.config.crashAfterRequests !== undefined && this.requests >= this.config.crashAfterRequests) {
      faults.crashAfterTokens = 0;
    }
    if (header !== undefined && header.trim().length > 0) {
      const { request } = parseFaultSpec(header);
      if (request.error) faults.error = request.error;
      faults.latencyMs += request.latencyMs;
      if (request.hangAfterTokens !== undefined) faults.hangAfterTokens = request.hangAfterTokens;
      if (request.dropAfterTokens !== undefined) faults.dropAfterTokens = request.dropAfterTokens;
      if (request.crashAfterTokens !== undefined) faults.crashAfterTokens = request.crashAfterTokens;
    }
    return faults;
  }
}
