// Chain and prompt-version metrics, registered on the router's own registry (served at /metrics).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ChainMetrics {
  stepDuration: Histogram<'step' | 'model'>;
  stepCost: Counter<'step' | 'model'>;
  verifications: Counter<'model' | 'outcome'>;
  verifierRetries: Counter<'model' | 'reason'>;
  promptRequests: Counter<'prompt' | 'version' | 'via'>;
  promptDuration: Histogram<'prompt' | 'version'>;
  promptCost: Counter<'prompt' | 'version'>;
  feedback: Counter<'prompt' | 'version' | 'model' | 'rating'>;
  feedbackScore: Gauge<'prompt' | 'version' | 'model'>;
  evalPassRate: Gauge<'prompt' | 'version' | 'source'>;
  activeVersion: Gauge<'prompt' | 'version'>;
  reloads: Counter<'outcome'>;
}

const created = new WeakMap<Registry, ChainMetrics>();

export function chainMetrics(registry: Registry): ChainMetrics {
  const existing = created.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const seconds = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
  const metrics: ChainMetrics = {
    stepDuration: new Histogram({
      name: 'switchyard_chain_step_duration_seconds',
      help: 'Time of each chain step',
      labelNames: ['step', 'model'],
      buckets: seconds,
      registers,
    }),
    stepCost: new Counter({
      name: 'switchyard_chain_step_cost_usd_total',
      help: 'Estimated cost of chain steps (USD)',
      labelNames: ['step', 'model'],
      registers,
    }),
    verifications: new Counter({
      name: 'switchyard_chain_verifications_total',
      help: 'Chained answers by verification outcome (verified, regenerated_verified, flagged, error)',
      labelNames: ['model', 'outcome'],
      registers,
    }),
    verifierRetries: new Counter({
      name: 'switchyard_chain_verifier_retries_total',
      help: 'Verifier calls repeated because the output was not valid',
      labelNames: ['model', 'reason'],
      registers,
    }),
    promptRequests: new Counter({
      name: 'switchyard_prompt_version_requests_total',
      help: 'Requests served per prompt version, and how the version was chosen (named, split, active, latest)',
      labelNames: ['prompt', 'version', 'via'],
      registers,
    }),
    promptDuration: new Histogram({
      name: 'switchyard_prompt_version_duration_seconds',
      help: 'Latency of the model call per prompt version',
      labelNames: ['prompt', 'version'],
      buckets: seconds,
      registers,
    }),
    promptCost: new Counter({
      name: 'switchyard_prompt_version_cost_usd_total',
      help: 'Estimated cost per prompt version (USD)',
      labelNames: ['prompt', 'version'],
      registers,
    }),
    feedback: new Counter({
      name: 'switchyard_prompt_version_feedback_total',
      help: 'User feedback per prompt version and model; rating is positive (score > 0), negative (< 0) or neutral',
      labelNames: ['prompt', 'version', 'model', 'rating'],
      registers,
    }),
    // A gauge: scores are negative too (mean score = this / the feedback count).
    feedbackScore: new Gauge({
      name: 'switchyard_prompt_version_feedback_score_sum',
      help: 'Sum of feedback scores per prompt version and model',
      labelNames: ['prompt', 'version', 'model'],
      registers,
    }),
    evalPassRate: new Gauge({
      name: 'switchyard_prompt_version_eval_pass_rate',
      help: 'Eval pass rate per prompt version: the accepted baseline (source=baseline) and the latest pushed run (source=eval)',
      labelNames: ['prompt', 'version', 'source'],
      registers,
    }),
    activeVersion: new Gauge({
      name: 'switchyard_prompt_version_traffic_share',
      help: 'Share of traffic each prompt version is configured to get',
      labelNames: ['prompt', 'version'],
      registers,
    }),
    reloads: new Counter({
      name: 'switchyard_prompt_reloads_total',
      help: 'Prompt and rollout reloads',
      labelNames: ['outcome'],
      registers,
    }),
  };
  created.set(registry, metrics);
  return metrics;
}
