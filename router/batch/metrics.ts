// Batch metrics on the router's prom-client registry: queue depth, throughput by outcome, GPU-seconds used by batch
// requests (the share of GPU time is this over the pool's GPU-seconds: rate(switchyard_batch_gpu_seconds_total[5m])
// / (gpus × 1)), pauses, preemptions and hosted spill-overs.
import { Counter, Gauge, type Registry } from 'prom-client';

export interface BatchMetrics {
  requests(outcome: 'succeeded' | 'failed' | 'retried' | 'preempted' | 'expired' | 'cancelled', count?: number): void;
  gpuSeconds(seconds: number, model: string): void;
  hostedSpill(model: string): void;
  paused(model: string, paused: boolean): void;
}

export function createBatchMetrics(
  registry: Registry,
  queueDepth: () => { pending: number; inFlight: number },
): BatchMetrics {
  const requests = new Counter({
    name: 'switchyard_batch_requests_total',
    help: 'Batch requests by outcome (succeeded, failed, retried, preempted by interactive load, expired, cancelled).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const gpuSeconds = new Counter({
    name: 'switchyard_batch_gpu_seconds_total',
    help: 'GPU-seconds attributed to batch requests (each request’s share of its backend’s busy time).',
    labelNames: ['model'],
    registers: [registry],
  });
  const spills = new Counter({
    name: 'switchyard_batch_hosted_spill_total',
    help: 'Batch requests sent with hosted spill-over allowed (batch allowed it and its window was at risk).',
    labelNames: ['model'],
    registers: [registry],
  });
  const paused = new Gauge({
    name: 'switchyard_batch_paused',
    help: '1 while batch dispatching for a model is paused because interactive load leaves no room.',
    labelNames: ['model'],
    registers: [registry],
  });
  new Gauge({
    name: 'switchyard_batch_queue_depth',
    help: 'Batch requests not finished yet, by state (pending = waiting for room, in_flight = dispatched).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const depth = queueDepth();
      this.set({ state: 'pending' }, depth.pending);
      this.set({ state: 'in_flight' }, depth.inFlight);
    },
  });
  return {
    requests: (outcome, count = 1) => requests.inc({ outcome }, count),
    gpuSeconds: (seconds, model) => gpuSeconds.inc({ model }, seconds),
    hostedSpill: (model) => spills.inc({ model }),
    paused: (model, value) => paused.set({ model }, value ? 1 : 0),
  };
}

export const NO_METRICS: BatchMetrics = {
  requests: () => undefined,
  gpuSeconds: () => undefined,
  hostedSpill: () => undefined,
  paused: () => undefined,
};
