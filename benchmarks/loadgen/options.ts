// Maps `switchyard bench` flags onto a BenchConfig, with errors that name the flag.
import { z } from 'zod';
import { BenchConfig, type BenchConfigInput, type GoodputSlo, type WorkloadSpec } from './config.ts';
import { InvalidInputError, describeZodIssues } from './errors.ts';
import { parseLength } from './workloads.ts';

export interface BenchFlags {
  baseUrl: string;
  apiKey?: string;
  model: string;
  endpoint: string;
  stream: boolean;
  ignoreEos: boolean;
  concurrency?: string;
  rate?: string;
  arrival: string;
  maxConcurrency?: string;
  sweep?: string;
  requests?: string;
  duration?: string;
  warmup: string;
  drainTimeout: string;
  timeout: string;
  dataset: string;
  datasetPath?: string;
  inputLen: string;
  outputLen: string;
  ragContexts: string;
  ragContextLen: string;
  ragQuestionLen: string;
  seed: string;
  goodput?: string[];
  percentiles: string;
}

export function parseNumber(
  text: string,
  flag: string,
  options: { integer?: boolean; min?: number; exclusiveMin?: boolean } = {},
): number {
  const value = Number(text);
  const min = options.min ?? 0;
  const badMin = options.exclusiveMin ? value <= min : value < min;
  if (text.trim() === '' || !Number.isFinite(value) || badMin || (options.integer && !Number.isInteger(value))) {
    const kind = options.integer ? 'an integer' : 'a number';
    throw new InvalidInputError(`${flag}: "${text}" must be ${kind} ${options.exclusiveMin ? '>' : '≥'} ${min}`);
  }
  return value;
}

/** `ttft:200 tpot:50 e2e:3000` (vLLM's `--goodput` syntax; `e2e` and `e2el` are the same SLO). */
export function parseGoodput(entries: readonly string[]): GoodputSlo {
  const slo: GoodputSlo = {};
  for (const entry of entries.flatMap((item) => item.split(/[\s,]+/)).filter(Boolean)) {
    const [key, value] = entry.split(':');
    const ms = parseNumber(value ?? '', `--goodput ${entry}`, { exclusiveMin: true });
    if (key === 'ttft') slo.ttft = ms;
    else if (key === 'tpot') slo.tpot = ms;
    else if (key === 'e2el' || key === 'e2e') slo.e2el = ms;
    else throw new InvalidInputError(`--goodput: unknown SLO "${key ?? ''}" (use ttft, tpot, e2el)`);
  }
  return slo;
}

function workloadFromFlags(flags: BenchFlags): WorkloadSpec {
  const output = parseLength(flags.outputLen, '--output-len');
  const needPath = () => {
    if (!flags.datasetPath) throw new InvalidInputError(`--dataset ${flags.dataset} needs --dataset-path`);
    return flags.datasetPath;
  };
  switch (flags.dataset) {
    case 'synthetic':
    case 'random':
      return { kind: 'synthetic', input: parseLength(flags.inputLen, '--input-len'), output };
    case 'sharegpt':
      return { kind: 'sharegpt', path: needPath(), ...(flags.outputLen === 'dataset' ? {} : { output }) };
    case 'jsonl':
      return { kind: 'jsonl', path: needPath(), output };
    case 'rag':
      return {
        kind: 'rag',
        contexts: parseNumber(flags.ragContexts, '--rag-contexts', { integer: true, min: 1 }),
        contextTokens: parseNumber(flags.ragContextLen, '--rag-context-len', { integer: true, min: 1 }),
        questionTokens: parseLength(flags.ragQuestionLen, '--rag-question-len'),
        output,
      };
    default:
      throw new InvalidInputError(`--dataset: unknown "${flags.dataset}" (synthetic, sharegpt, jsonl, rag)`);
  }
}

export function configFromFlags(flags: BenchFlags): BenchConfig {
  if (flags.concurrency !== undefined && flags.rate !== undefined) {
    throw new InvalidInputError('give either --concurrency (closed loop) or --rate (open loop), not both');
  }
  const mode: BenchConfigInput['mode'] =
    flags.rate !== undefined
      ? {
          kind: 'open',
          rate: parseNumber(flags.rate, '--rate', { exclusiveMin: true }),
          arrival:
            flags.arrival === 'constant'
              ? 'constant'
              : flags.arrival === 'poisson'
                ? 'poisson'
                : (() => {
                    throw new InvalidInputError(`--arrival: "${flags.arrival}" (poisson or constant)`);
                  })(),
          ...(flags.maxConcurrency === undefined
            ? {}
            : { maxConcurrency: parseNumber(flags.maxConcurrency, '--max-concurrency', { integer: true, min: 1 }) }),
        }
      : {
          kind: 'closed',
          concurrency: parseNumber(flags.concurrency ?? '1', '--concurrency', { integer: true, min: 1 }),
        };
  const input: BenchConfigInput = {
    baseUrl: flags.baseUrl,
    model: flags.model,
    endpoint:
      flags.endpoint === 'completions'
        ? 'completions'
        : flags.endpoint === 'chat'
          ? 'chat'
          : (() => {
              throw new InvalidInputError(`--endpoint: "${flags.endpoint}" (chat or completions)`);
            })(),
    stream: flags.stream,
    ignoreEos: flags.ignoreEos,
    mode,
    sweep:
      flags.sweep === undefined
        ? []
        : flags.sweep.split(',').map((step) => parseNumber(step, '--sweep', { exclusiveMin: true })),
    workload: workloadFromFlags(flags),
    warmupRequests: parseNumber(flags.warmup, '--warmup', { integer: true }),
    drainTimeoutS: parseNumber(flags.drainTimeout, '--drain-timeout'),
    requestTimeoutS: parseNumber(flags.timeout, '--timeout', { exclusiveMin: true }),
    seed: parseNumber(flags.seed, '--seed', { integer: true, min: Number.MIN_SAFE_INTEGER }),
    goodput: parseGoodput(flags.goodput ?? []),
    percentiles: flags.percentiles.split(',').map((p) => parseNumber(p, '--percentiles')),
  };
  if (flags.apiKey) input.apiKey = flags.apiKey;
  if (flags.requests !== undefined)
    input.requests = parseNumber(flags.requests, '--requests', { integer: true, min: 1 });
  if (flags.duration !== undefined) input.durationS = parseNumber(flags.duration, '--duration', { exclusiveMin: true });
  const parsed = BenchConfig.safeParse(input);
  if (!parsed.success) throw new InvalidInputError(describeZodIssues(parsed.error.issues));
  return parsed.data;
}

export const ModelList = z.object({ data: z.array(z.object({ id: z.string() })).min(1) });
