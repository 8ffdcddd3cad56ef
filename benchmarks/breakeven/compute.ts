// Resolves breakeven inputs against the catalog (model, GPU, prices), gets replica capacity (bench file, step-time
// estimate or given), and computes the costs, breakeven and sensitivity sweeps the report shows.
import { GPUS } from '../../models/catalog/gpus.ts';
import { MODELS } from '../../models/catalog/models.ts';
import { type PriceFile, gpuHourlyPrice } from '../../models/catalog/prices.ts';
import { fits, smallestTensorParallel } from '../../models/sizing.ts';
import { InvalidInputError } from '../loadgen/errors.ts';
import type { BenchResult } from '../loadgen/runner.ts';
import { estimateCapacity, type CapacityEstimate } from './estimate.ts';
import {
  type ApiPrice,
  type Breakeven,
  type RequestProfile,
  type SelfHostedDeployment,
  apiCostPerMillionTokens,
  apiCostPerRequest,
  apiMonthlyCost,
  breakeven,
  realizedUtilization,
  replicaHourly,
  replicaRequestsPerDay,
  replicasNeeded,
  selfHostedCostPerMillionOutputTokens,
  selfHostedCostPerMillionTokens,
  selfHostedMonthlyCost,
} from './formulas.ts';
import { type BreakevenInput, DEFAULT_PROFILE } from './inputs.ts';
import { checkSeed, type ClaimCheck } from './seed-check.ts';

export interface ResolvedThroughput {
  source: 'estimate' | 'bench' | 'given';
  requestsPerS: number;
  tokensPerS: number;
  outputTokensPerS: number;
  note: string;
  estimate?: CapacityEstimate;
}

export interface BreakevenReport {
  createdAt: string;
  model: { id: string; name: string };
  gpu: { id: string; name: string };
  gpusPerReplica: number;
  gpuHourly: number;
  gpuPriceSource: string;
  profile: RequestProfile;
  utilization: number;
  requestsPerDay: number;
  throughput: ResolvedThroughput;
  api: ApiPrice & { source: string };
  results: {
    replicaHourly: number;
    selfCostPerMillionTokens: number;
    selfCostPerMillionOutputTokens: number;
    apiCostPerMillionTokens: number;
    apiCostPerRequest: number;
    replicas: number;
    fixedFleet: boolean;
    realizedUtilization: number;
    /** Requests/day the fleet can carry at the target utilization. */
    fleetRequestsPerDay: number;
    selfMonthly: number;
    apiMonthly: number;
    breakeven: Breakeven;
  };
  sweeps: {
    utilization: { utilization: number; selfCostPerMillionTokens: number }[];
    requestsPerDay: { requestsPerDay: number; replicas: number; selfMonthly: number; apiMonthly: number }[];
  };
  seedCheck: ClaimCheck[];
  warnings: string[];
}

export interface ComputeDependencies {
  prices: PriceFile;
  readBench: (path: string) => Promise<BenchResult>;
}

function fromBench(result: BenchResult, path: string): { throughput: ResolvedThroughput; profile: RequestProfile } {
  const withSlo = result.runs.some((run) => run.summary.requestGoodput !== null);
  const score = (index: number) => {
    const summary = result.runs[index]?.summary;
    return (withSlo ? summary?.requestGoodput : summary?.requestThroughput) ?? 0;
  };
  let best = 0;
  for (let index = 1; index < result.runs.length; index += 1) if (score(index) > score(best)) best = index;
  const run = result.runs[best];
  if (!run || run.summary.completed === 0)
    throw new InvalidInputError(`${path}: no successful requests to measure throughput from`);
  const succeeded = run.records.filter((record) => record.success);
  const profile = {
    inputTokens: Math.max(
      1,
      Math.round(succeeded.reduce((sum, record) => sum + record.promptTokens, 0) / succeeded.length),
    ),
    outputTokens: Math.max(
      1,
      Math.round(succeeded.reduce((sum, record) => sum + record.outputTokens, 0) / succeeded.length),
    ),
  };
  const requestsPerS = score(best);
  if (!(requestsPerS > 0))
    throw new InvalidInputError(`${path}: no request met the goodput SLO, so there is no capacity to cost`);
  const perRequest = profile.inputTokens + profile.outputTokens;
  return {
    profile,
    throughput: {
      source: 'bench',
      requestsPerS,
      tokensPerS: requestsPerS * perRequest,
      outputTokensPerS: requestsPerS * profile.outputTokens,
      note: `measured: ${path}, step "${run.label}", ${withSlo ? 'goodput' : 'request throughput'} ${requestsPerS.toFixed(2)} req/s`,
    },
  };
}

/** The API model's $/1M prices: prices.yaml, or given (both needed for a model the price file does not know). */
export function resolveApiPrice(
  prices: PriceFile,
  input: Pick<BreakevenInput, 'apiModel' | 'apiInputPrice' | 'apiOutputPrice'>,
): ApiPrice & { source: string } {
  const hosted = prices.hosted[input.apiModel];
  if (!hosted && (input.apiInputPrice === undefined || input.apiOutputPrice === undefined)) {
    throw new InvalidInputError(
      `unknown API model "${input.apiModel}"; known: ${Object.keys(prices.hosted).join(', ')} (or give --api-input-price and --api-output-price)`,
    );
  }
  return {
    name: input.apiModel,
    input: input.apiInputPrice ?? hosted?.input ?? 0,
    output: input.apiOutputPrice ?? hosted?.output ?? 0,
    source:
      input.apiInputPrice !== undefined || input.apiOutputPrice !== undefined
        ? 'given'
        : `${hosted?.source ?? ''} (${hosted?.date ?? ''})`,
  };
}

export async function computeBreakeven(
  input: BreakevenInput,
  dependencies: ComputeDependencies,
  now = new Date(),
): Promise<BreakevenReport> {
  const { prices } = dependencies;
  const model = MODELS[input.model];
  const gpu = GPUS[input.gpu];
  const warnings: string[] = [];
  const gpusPerReplica =
    input.gpusPerReplica ??
    smallestTensorParallel({ model, gpu, dtype: 'bf16' }) ??
    (() => {
      throw new InvalidInputError(`${model.id} does not fit on up to 8× ${gpu.id}`);
    })();
  const fit = fits({ model, gpu, tensorParallel: gpusPerReplica, dtype: 'bf16' });
  if (!fit.fits) throw new InvalidInputError(`${model.id} does not fit on ${gpusPerReplica}× ${gpu.id}: ${fit.reason}`);

  const catalogHourly = (() => {
    try {
      return gpuHourlyPrice(prices, gpu.id);
    } catch (error) {
      if (input.gpuHourly !== undefined) return input.gpuHourly;
      throw new InvalidInputError((error as Error).message);
    }
  })();
  const gpuHourly = input.gpuHourly ?? catalogHourly;
  const gpuPriceSource =
    input.gpuHourly !== undefined ? 'given (--gpu-hourly)' : (prices.gpus[gpu.id]?.source ?? 'catalog');

  const api = resolveApiPrice(prices, input);

  let profile: RequestProfile = {
    inputTokens: input.inputTokens ?? DEFAULT_PROFILE.inputTokens,
    outputTokens: input.outputTokens ?? DEFAULT_PROFILE.outputTokens,
  };
  let throughput: ResolvedThroughput;
  switch (input.throughput.source) {
    case 'bench': {
      const measured = fromBench(await dependencies.readBench(input.throughput.path), input.throughput.path);
      profile = {
        inputTokens: input.inputTokens ?? measured.profile.inputTokens,
        outputTokens: input.outputTokens ?? measured.profile.outputTokens,
      };
      const perRequest = profile.inputTokens + profile.outputTokens;
      throughput = {
        ...measured.throughput,
        tokensPerS: measured.throughput.requestsPerS * perRequest,
        outputTokensPerS: measured.throughput.requestsPerS * profile.outputTokens,
      };
      break;
    }
    case 'estimate': {
      const slo = {
        tpotMs: input.throughput.tpotMs,
        ...(input.throughput.ttftMs === undefined ? {} : { ttftMs: input.throughput.ttftMs }),
      };
      const estimate = estimateCapacity({ model, gpu, tensorParallel: gpusPerReplica, profile, slo });
      throughput = {
        source: 'estimate',
        requestsPerS: estimate.requestsPerS,
        tokensPerS: estimate.totalTokensPerS,
        outputTokensPerS: estimate.outputTokensPerS,
        note: `estimated by the step-time model at TPOT ≤ ${slo.tpotMs} ms${slo.ttftMs === undefined ? '' : `, TTFT ≤ ${slo.ttftMs} ms`}: batch ${estimate.batch}, step ${estimate.stepMs.toFixed(1)} ms, limited by ${estimate.limitedBy}`,
        estimate,
      };
      break;
    }
    case 'given': {
      const requestsPerS = input.throughput.tokensPerS / (profile.inputTokens + profile.outputTokens);
      throughput = {
        source: 'given',
        requestsPerS,
        tokensPerS: input.throughput.tokensPerS,
        outputTokensPerS: requestsPerS * profile.outputTokens,
        note: 'given (--throughput)',
      };
      break;
    }
  }

  const deployment: SelfHostedDeployment = { gpuHourly, gpusPerReplica, replicaRequestsPerS: throughput.requestsPerS };
  const fixedFleet = input.replicas !== undefined;
  const replicas = input.replicas ?? replicasNeeded(deployment, input.requestsPerDay, input.utilization);
  const fleetRequestsPerDay = replicaRequestsPerDay(deployment, input.utilization) * replicas;
  if (input.requestsPerDay > replicaRequestsPerDay(deployment) * replicas) {
    warnings.push(
      `${input.requestsPerDay} requests/day exceed the fixed fleet's capacity of ${Math.round(replicaRequestsPerDay(deployment) * replicas)} at 100% utilization`,
    );
  }
  const result = breakeven(deployment, profile, api, input.utilization);
  const maxRequests = Math.max(
    input.requestsPerDay * 2,
    (result.stableFromRequestsPerDay ?? result.requestsPerDay ?? 0) * 1.5,
    replicaRequestsPerDay(deployment, input.utilization) * 3,
  );
  const requestSweep = Array.from({ length: 121 }, (_, index) => (maxRequests * index) / 120).map((requestsPerDay) => {
    const sweepReplicas = fixedFleet ? replicas : replicasNeeded(deployment, requestsPerDay, input.utilization);
    return {
      requestsPerDay,
      replicas: sweepReplicas,
      selfMonthly: selfHostedMonthlyCost(deployment, sweepReplicas),
      apiMonthly: apiMonthlyCost(api, profile, requestsPerDay),
    };
  });
  const utilizationSweep = Array.from({ length: 96 }, (_, index) => 0.05 + index * 0.01).map((utilization) => ({
    utilization,
    selfCostPerMillionTokens: selfHostedCostPerMillionTokens(deployment, profile, utilization),
  }));

  return {
    createdAt: now.toISOString(),
    model: { id: model.id, name: model.displayName },
    gpu: { id: gpu.id, name: gpu.displayName },
    gpusPerReplica,
    gpuHourly,
    gpuPriceSource,
    profile,
    utilization: input.utilization,
    requestsPerDay: input.requestsPerDay,
    throughput,
    api,
    results: {
      replicaHourly: replicaHourly(deployment),
      selfCostPerMillionTokens: selfHostedCostPerMillionTokens(deployment, profile, input.utilization),
      selfCostPerMillionOutputTokens: selfHostedCostPerMillionOutputTokens(deployment, profile, input.utilization),
      apiCostPerMillionTokens: apiCostPerMillionTokens(api, profile),
      apiCostPerRequest: apiCostPerRequest(api, profile),
      replicas,
      fixedFleet,
      realizedUtilization: realizedUtilization(deployment, replicas, input.requestsPerDay),
      fleetRequestsPerDay,
      selfMonthly: selfHostedMonthlyCost(deployment, replicas),
      apiMonthly: apiMonthlyCost(api, profile, input.requestsPerDay),
      breakeven: result,
    },
    sweeps: { utilization: utilizationSweep, requestsPerDay: requestSweep },
    seedCheck: checkSeed({
      prices,
      // The seed's claims are about ordinary chat requests: a measured profile (e.g. a tiny test run) is not used here.
      profile: {
        inputTokens: input.inputTokens ?? DEFAULT_PROFILE.inputTokens,
        outputTokens: input.outputTokens ?? DEFAULT_PROFILE.outputTokens,
      },
      slo: { tpotMs: input.seedCheckTpotMs },
      gpuHourly: input.seedGpuHourly,
    }),
    warnings,
  };
}
