// The cost arithmetic of self-hosting vs a hosted API. Pure functions of plain numbers, so each formula is tested on
// hand-computed cases and printed verbatim in the report.
//
//   fleet $/h            = GPU $/h × GPUs per replica (tensor parallel: every GPU is billed) × replicas
//   self $/1M tokens @ u = fleet $/h / (fleet tokens/s × u × 3600) × 1e6      (idle capacity is still paid for)
//   API $/request        = (tokens in × $in + tokens out × $out) / 1e6
//   API $/1M tokens      = API $/request / (tokens in + tokens out) × 1e6     (blended for the request profile)
//   monthly              = hours per month (730) × $/h, or requests/day × 365/12 × $/request
//   breakeven req/day    = replica $/day / API $/request   (if one replica can carry it at the target utilization)

export const HOURS_PER_MONTH = (365 * 24) / 12;
export const DAYS_PER_MONTH = 365 / 12;
export const SECONDS_PER_DAY = 86_400;

export interface RequestProfile {
  inputTokens: number;
  outputTokens: number;
}

export interface ApiPrice {
  name: string;
  /** $ per 1M input tokens. */
  input: number;
  /** $ per 1M output tokens. */
  output: number;
}

export interface SelfHostedDeployment {
  /** $ per GPU-hour. */
  gpuHourly: number;
  /** GPUs per replica (tensor-parallel size). */
  gpusPerReplica: number;
  /** Requests/s one replica sustains within the latency SLO (its capacity). */
  replicaRequestsPerS: number;
}

export const tokensPerRequest = (profile: RequestProfile) => profile.inputTokens + profile.outputTokens;

export function replicaHourly(deployment: SelfHostedDeployment): number {
  return deployment.gpuHourly * deployment.gpusPerReplica;
}

export function replicaTokensPerS(deployment: SelfHostedDeployment, profile: RequestProfile): number {
  return deployment.replicaRequestsPerS * tokensPerRequest(profile);
}

/** Requests/day one replica can serve at utilization `u` (u = 1: flat out at its SLO capacity all day). */
export function replicaRequestsPerDay(deployment: SelfHostedDeployment, utilization = 1): number {
  return deployment.replicaRequestsPerS * SECONDS_PER_DAY * utilization;
}

/** Self-hosted $ per 1M tokens (input + output) when the replicas run at average utilization `u`. */
export function selfHostedCostPerMillionTokens(
  deployment: SelfHostedDeployment,
  profile: RequestProfile,
  utilization: number,
): number {
  return (replicaHourly(deployment) / (replicaTokensPerS(deployment, profile) * utilization * 3600)) * 1e6;
}

/** Self-hosted $ per 1M output tokens at utilization `u` (input tokens ride along for free in this view). */
export function selfHostedCostPerMillionOutputTokens(
  deployment: SelfHostedDeployment,
  profile: RequestProfile,
  utilization: number,
): number {
  return (
    (replicaHourly(deployment) / (deployment.replicaRequestsPerS * profile.outputTokens * utilization * 3600)) * 1e6
  );
}

export function apiCostPerRequest(price: ApiPrice, profile: RequestProfile): number {
  return (profile.inputTokens * price.input + profile.outputTokens * price.output) / 1e6;
}

export function apiCostPerMillionTokens(price: ApiPrice, profile: RequestProfile): number {
  return (apiCostPerRequest(price, profile) / tokensPerRequest(profile)) * 1e6;
}

export function apiMonthlyCost(price: ApiPrice, profile: RequestProfile, requestsPerDay: number): number {
  return requestsPerDay * DAYS_PER_MONTH * apiCostPerRequest(price, profile);
}

/** Replicas needed so that `requestsPerDay` keeps average utilization at or below `maxUtilization` (at least 1). */
export function replicasNeeded(
  deployment: SelfHostedDeployment,
  requestsPerDay: number,
  maxUtilization: number,
): number {
  return Math.max(1, Math.ceil(requestsPerDay / replicaRequestsPerDay(deployment, maxUtilization) - 1e-9));
}

/** Monthly cost of always-on replicas: every hour is billed whether busy or idle. */
export function selfHostedMonthlyCost(deployment: SelfHostedDeployment, replicas: number): number {
  return replicaHourly(deployment) * replicas * HOURS_PER_MONTH;
}

/** Average utilization of `replicas` replicas carrying `requestsPerDay`. */
export function realizedUtilization(
  deployment: SelfHostedDeployment,
  replicas: number,
  requestsPerDay: number,
): number {
  return requestsPerDay / (replicaRequestsPerDay(deployment) * replicas);
}

export interface Breakeven {
  /** Utilization above which self-hosting is cheaper per token: self $/1M at u=1 ÷ API $/1M. > 1 means never. */
  utilization: number;
  /** First requests/day at which one always-on replica costs the same as the API; null when it never does. */
  requestsPerDay: number | null;
  /**
   * Above this requests/day self-hosting stays cheaper at every fleet size (adding a replica at the target utilization
   * never makes it dearer than the API again); null when it never does.
   */
  stableFromRequestsPerDay: number | null;
}

export function breakeven(
  deployment: SelfHostedDeployment,
  profile: RequestProfile,
  price: ApiPrice,
  maxUtilization: number,
): Breakeven {
  const perRequest = apiCostPerRequest(price, profile);
  const utilization = selfHostedCostPerMillionTokens(deployment, profile, 1) / apiCostPerMillionTokens(price, profile);
  const replicaDaily = replicaHourly(deployment) * 24;
  const crossing = replicaDaily / perRequest;
  const carried = replicaRequestsPerDay(deployment, maxUtilization);
  if (perRequest <= 0 || crossing > carried)
    return { utilization, requestsPerDay: null, stableFromRequestsPerDay: null };
  // API cost of a replica's full load at the target utilization, per day; step k starts just above (k−1)·carried.
  const fullLoadApiDaily = carried * perRequest;
  let stable: number | null = crossing;
  if (fullLoadApiDaily < replicaDaily * 2) {
    // Just after each step boundary the fleet grows by one replica; it stays cheaper once (k−1)·A ≥ k·M.
    const steps =
      fullLoadApiDaily <= replicaDaily
        ? Number.POSITIVE_INFINITY
        : Math.ceil(fullLoadApiDaily / (fullLoadApiDaily - replicaDaily));
    stable = Number.isFinite(steps) ? Math.max(crossing, (steps - 1) * carried) : null;
  }
  return { utilization, requestsPerDay: crossing, stableFromRequestsPerDay: stable };
}
