// "Check the seed": recompute the project seed's cost table and breakeven claim with the catalog's prices and the
// step-time model, and give each claim a verdict with the assumptions under which it holds.
import { type GpuId, GPUS } from '../../models/catalog/gpus.ts';
import { type ModelId, MODELS } from '../../models/catalog/models.ts';
import { type PriceFile, gpuHourlyPrice } from '../../models/catalog/prices.ts';
import { estimateCapacity, type LatencySlo } from './estimate.ts';
import {
  type ApiPrice,
  type RequestProfile,
  type SelfHostedDeployment,
  apiCostPerMillionTokens,
  apiCostPerRequest,
  breakeven,
  replicaHourly,
  replicaRequestsPerDay,
  selfHostedCostPerMillionTokens,
  tokensPerRequest,
} from './formulas.ts';

export type Verdict = 'holds' | 'holds-under-assumptions' | 'does-not-hold';

export interface ClaimCheck {
  id: string;
  claim: string;
  recomputed: string;
  verdict: Verdict;
  /** The assumptions the recomputation used (prices, profile, SLO, interpretation). */
  assumptions: string[];
  /** Why, and under which conditions the claim would hold. */
  detail: string;
}

/** The seed's table: model on GPUs, claimed throughput (tokens/s) and claimed $ per 1M tokens. */
export const SEED_TABLE = [
  { id: 'llama-8b-1xa100', model: 'llama-3.1-8b', gpu: 'a100-80gb', gpus: 1, tokensPerS: 2500, costPerMillion: 0.08 },
  { id: 'llama-70b-4xa100', model: 'llama-3.1-70b', gpu: 'a100-80gb', gpus: 4, tokensPerS: 800, costPerMillion: 0.4 },
  { id: 'mistral-7b-1xa10g', model: 'mistral-7b', gpu: 'a10g', gpus: 1, tokensPerS: 1800, costPerMillion: 0.05 },
] as const satisfies readonly {
  id: string;
  model: ModelId;
  gpu: GpuId;
  gpus: number;
  tokensPerS: number;
  costPerMillion: number;
}[];

export const SEED_API_AVERAGE = { model: 'gpt-4o-mini', costPerMillion: 0.6 } as const;
export const SEED_BREAKEVEN = { utilization: 0.8, minRequestsPerDay: 200_000, maxRequestsPerDay: 300_000 } as const;

/** A recomputed number within this relative distance of the claimed one counts as agreeing ("~" in the seed). */
export const TOLERANCE = 0.25;

export interface SeedCheckOptions {
  prices: PriceFile;
  profile: RequestProfile;
  slo: LatencySlo;
  /** Per-GPU $/hour overrides (e.g. a cheaper A100 contract) instead of the catalog's. */
  gpuHourly?: Partial<Record<GpuId, number>>;
  apiModel?: string;
}

const money = (value: number) => (value >= 1 ? `$${value.toFixed(2)}` : `$${value.toFixed(value >= 0.1 ? 3 : 4)}`);
const count = (value: number) => Math.round(value).toLocaleString('en-US');
const percent = (value: number) => `${(value * 100).toFixed(0)}%`;
const near = (value: number, claimed: number) => Math.abs(value - claimed) <= TOLERANCE * claimed;

function apiPrice(prices: PriceFile, name: string): ApiPrice {
  const entry = prices.hosted[name];
  if (!entry) throw new Error(`no hosted price for "${name}" in the price file`);
  return { name, input: entry.input, output: entry.output };
}

export function checkSeed(options: SeedCheckOptions): ClaimCheck[] {
  const { prices, profile, slo } = options;
  const hourly = (gpu: GpuId) => options.gpuHourly?.[gpu] ?? gpuHourlyPrice(prices, gpu);
  const priceSource = (gpu: GpuId) =>
    options.gpuHourly?.[gpu] !== undefined
      ? `${gpu} at ${money(hourly(gpu))}/GPU-h (given)`
      : `${gpu} at ${money(hourly(gpu))}/GPU-h (${prices.gpus[gpu]?.source ?? 'catalog'})`;
  const profileText = `${profile.inputTokens} input + ${profile.outputTokens} output tokens per request`;
  const sloText = `TPOT ≤ ${slo.tpotMs} ms${slo.ttftMs === undefined ? '' : `, TTFT ≤ ${slo.ttftMs} ms`}`;
  const throughputMeaning =
    'the claim\'s "tok/s" read as total (input + output) tokens/s of one replica, the unit its $/1M is per';
  const checks: ClaimCheck[] = [];
  const estimates = new Map<string, ReturnType<typeof estimateCapacity>>();

  for (const row of SEED_TABLE) {
    const model = MODELS[row.model];
    const gpu = GPUS[row.gpu];
    const estimate = estimateCapacity({ model, gpu, tensorParallel: row.gpus, profile, slo });
    estimates.set(row.id, estimate);
    const label = `${model.displayName} on ${row.gpus}× ${gpu.displayName}`;
    const ratio = estimate.totalTokensPerS / row.tokensPerS;
    checks.push({
      id: `${row.id}-throughput`,
      claim: `${label} serves ~${count(row.tokensPerS)} tok/s`,
      recomputed: `${count(estimate.totalTokensPerS)} tok/s total (${count(estimate.outputTokensPerS)} output) at batch ${estimate.batch}`,
      verdict: ratio >= 1 - TOLERANCE ? 'holds' : 'does-not-hold',
      assumptions: [
        throughputMeaning,
        `step-time model (H100-calibrated, scaled by datasheet bandwidth/FLOPs), bf16, vLLM defaults`,
        sloText,
        profileText,
      ],
      detail:
        ratio >= 1 + TOLERANCE
          ? `The claim is conservative: the step-time model puts capacity at ${ratio.toFixed(1)}× the claim (limited by ${estimate.limitedBy}).`
          : ratio >= 1 - TOLERANCE
            ? `Within ${percent(TOLERANCE)} of the claim (limited by ${estimate.limitedBy}).`
            : `The step-time model reaches only ${percent(ratio)} of the claim at this SLO (limited by ${estimate.limitedBy}); a looser SLO or shorter requests would be needed.`,
    });

    const deployment: SelfHostedDeployment = {
      gpuHourly: hourly(row.gpu),
      gpusPerReplica: row.gpus,
      replicaRequestsPerS: row.tokensPerS / tokensPerRequest(profile),
    };
    const atClaimed = selfHostedCostPerMillionTokens(deployment, profile, 1);
    const impliedGpuHourly = (row.costPerMillion * row.tokensPerS * 3600) / 1e6 / row.gpus;
    const neededTokensPerS = (replicaHourly(deployment) * 1e6) / (row.costPerMillion * 3600);
    const estimatedCost = selfHostedCostPerMillionTokens(
      { ...deployment, replicaRequestsPerS: estimate.requestsPerS },
      profile,
      1,
    );
    const neededUtilization = neededTokensPerS / estimate.totalTokensPerS;
    let verdict: Verdict;
    let detail: string;
    if (near(atClaimed, row.costPerMillion)) {
      verdict = 'holds';
      detail = `At the claimed ${count(row.tokensPerS)} tok/s and 100% utilization the catalog price gives ${money(atClaimed)}/1M.`;
    } else if (neededUtilization <= 1) {
      verdict = 'holds-under-assumptions';
      detail =
        `At the claimed ${count(row.tokensPerS)} tok/s the catalog price gives ${money(atClaimed)}/1M (the claim implies ${money(impliedGpuHourly)}/GPU-h). ` +
        `It holds at the catalog price only if the replica sustains ≥ ${count(neededTokensPerS)} tok/s, i.e. ≥ ${percent(neededUtilization)} utilization of the ` +
        `${count(estimate.totalTokensPerS)} tok/s the step-time model estimates (${money(estimatedCost)}/1M at 100%).`;
    } else {
      verdict = 'does-not-hold';
      detail =
        `At the claimed ${count(row.tokensPerS)} tok/s the catalog price gives ${money(atClaimed)}/1M; even at the estimated capacity of ` +
        `${count(estimate.totalTokensPerS)} tok/s and 100% utilization it is ${money(estimatedCost)}/1M. ` +
        `The claim needs ${money(impliedGpuHourly)}/GPU-h at ${count(row.tokensPerS)} tok/s, or ${count(neededTokensPerS)} tok/s at the catalog price.`;
    }
    checks.push({
      id: `${row.id}-cost`,
      claim: `${label} costs ~${money(row.costPerMillion)} per 1M tokens`,
      recomputed: `${money(atClaimed)}/1M at the claimed throughput, ${money(estimatedCost)}/1M at the estimated capacity (100% utilization)`,
      verdict,
      assumptions: [
        priceSource(row.gpu),
        `${row.gpus} GPU(s) billed per replica, every hour`,
        throughputMeaning,
        profileText,
      ],
      detail,
    });
  }

  const apiName = options.apiModel ?? SEED_API_AVERAGE.model;
  const api = apiPrice(prices, apiName);
  const blended = apiCostPerMillionTokens(api, profile);
  const outputShareNeeded = (SEED_API_AVERAGE.costPerMillion - api.input) / (api.output - api.input);
  checks.push({
    id: 'gpt-4o-mini-average',
    claim: `${apiName} costs $${SEED_API_AVERAGE.costPerMillion.toFixed(2)} per 1M tokens on average`,
    recomputed: `${money(blended)}/1M blended (input ${money(api.input)}, output ${money(api.output)} per 1M)`,
    verdict: near(blended, SEED_API_AVERAGE.costPerMillion) ? 'holds' : 'does-not-hold',
    assumptions: [
      `${apiName} prices from prices.yaml (${prices.hosted[apiName]?.source ?? ''}, ${prices.hosted[apiName]?.date ?? ''})`,
      profileText,
    ],
    detail: near(blended, SEED_API_AVERAGE.costPerMillion)
      ? 'The blended price for this profile is within tolerance.'
      : `$${SEED_API_AVERAGE.costPerMillion.toFixed(2)} is the output-token price; an average that high needs ${percent(Math.min(1, outputShareNeeded))} of the tokens to be output tokens. ` +
        `For ${profileText} the blend is ${money(blended)}/1M, which makes self-hosting look ${(SEED_API_AVERAGE.costPerMillion / blended).toFixed(1)}× less attractive than the claim says.`,
  });

  for (const row of [SEED_TABLE[0], SEED_TABLE[2]]) {
    const model = MODELS[row.model];
    const gpu = GPUS[row.gpu];
    const estimate = estimates.get(row.id);
    if (!estimate) continue;
    const variants = [
      { name: 'estimated capacity', tokensPerS: estimate.totalTokensPerS },
      { name: `the claimed ${count(row.tokensPerS)} tok/s`, tokensPerS: row.tokensPerS },
    ].map((variant) => {
      const deployment: SelfHostedDeployment = {
        gpuHourly: hourly(row.gpu),
        gpusPerReplica: row.gpus,
        replicaRequestsPerS: variant.tokensPerS / tokensPerRequest(profile),
      };
      const result = breakeven(deployment, profile, api, 1);
      const replicaDaily = replicaHourly(deployment) * 24;
      // R* = replica $/day ÷ API $/request scales as 1/(tokens per request): the band of request sizes that lands in range.
      const perToken = apiCostPerRequest(api, profile) / tokensPerRequest(profile);
      const tokensLow = replicaDaily / (perToken * SEED_BREAKEVEN.maxRequestsPerDay);
      const tokensHigh = replicaDaily / (perToken * SEED_BREAKEVEN.minRequestsPerDay);
      return {
        ...variant,
        deployment,
        result,
        tokensLow,
        tokensHigh,
        atTarget: replicaRequestsPerDay(deployment, SEED_BREAKEVEN.utilization),
      };
    });
    const [main, seedVariant] = variants as [(typeof variants)[0], (typeof variants)[0]];
    const describe = (variant: typeof main) =>
      variant.result.requestsPerDay === null
        ? `with ${variant.name}: never (self-hosting costs more per token than the API even at 100% utilization: breakeven utilization ${percent(variant.result.utilization)})`
        : `with ${variant.name}: breakeven at ${count(variant.result.requestsPerDay)} requests/day, where the GPU is ${percent(variant.result.utilization)} utilized; 80% utilization is ${count(variant.atTarget)} requests/day`;
    const inBand = (value: number | null) =>
      value !== null &&
      value >= SEED_BREAKEVEN.minRequestsPerDay * (1 - TOLERANCE / 2) &&
      value <= SEED_BREAKEVEN.maxRequestsPerDay * (1 + TOLERANCE / 2);
    const judge = (variant: typeof main) => ({
      cheaperAt80: variant.result.utilization <= SEED_BREAKEVEN.utilization,
      loadAt80InBand: inBand(variant.atTarget),
      crossingInBand: inBand(variant.result.requestsPerDay),
    });
    const mainJudgement = judge(main);
    const seedJudgement = judge(seedVariant);
    const partly = (judgement: ReturnType<typeof judge>) =>
      judgement.cheaperAt80 && (judgement.loadAt80InBand || judgement.crossingInBand);
    let verdict: Verdict;
    let detail: string;
    const bandTokens = `the breakeven load lands in 200K–300K requests/day only for requests of ${count(main.tokensLow)}–${count(main.tokensHigh)} tokens (same input:output ratio)`;
    if (mainJudgement.cheaperAt80 && mainJudgement.loadAt80InBand) {
      verdict = 'holds';
      detail = `At 80% utilization one replica carries ${count(main.atTarget)} requests/day and costs less per token than the API (breakeven utilization ${percent(main.result.utilization)}).`;
    } else if (partly(mainJudgement) || partly(seedJudgement)) {
      verdict = 'holds-under-assumptions';
      const reasons: string[] = [];
      if (seedJudgement.cheaperAt80 && seedJudgement.loadAt80InBand) {
        reasons.push(
          `with the claimed ${count(row.tokensPerS)} tok/s, 80% utilization is ${count(seedVariant.atTarget)} requests/day and self-hosting is cheaper there (breakeven at ${percent(seedVariant.result.utilization)})`,
        );
      }
      if (mainJudgement.cheaperAt80) {
        reasons.push(
          `with the estimated ${count(main.tokensPerS)} tok/s the replica is cheaper from ${percent(main.result.utilization)} utilization, so "80%+" is more than needed, and 80% utilization is ${count(main.atTarget)} requests/day`,
        );
      }
      reasons.push(bandTokens);
      detail = `${reasons.join('; ')}.`;
    } else {
      verdict = 'does-not-hold';
      detail = `At 80% utilization self-hosting costs ${money(selfHostedCostPerMillionTokens(main.deployment, profile, 0.8))}/1M vs ${money(blended)}/1M on the API, so it does not break even there; ${bandTokens}.`;
    }
    checks.push({
      id: `breakeven-${row.id}`,
      claim: `A self-hosted 7B-class model (${model.displayName} on ${row.gpus}× ${gpu.displayName}) at 80%+ utilization breaks even with ${apiName} at ~200K–300K requests/day`,
      recomputed: `${describe(main)}; ${describe(seedVariant)}`,
      verdict,
      assumptions: [
        priceSource(row.gpu),
        `${apiName} at ${money(api.input)}/${money(api.output)} per 1M input/output`,
        profileText,
        sloText,
        'one always-on replica (every hour billed); breakeven = replica $/day ÷ API $/request',
      ],
      detail,
    });
  }
  return checks;
}
