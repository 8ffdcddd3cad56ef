// GPU telemetry as Prometheus gauges. Every reading replaces the previous series so a GPU that vanished stops being
// reported; `switchyard_gpu_telemetry_up` says whether the source answered at all.
import { Gauge, type Registry } from 'prom-client';
import type { TelemetryReading } from '../contracts.ts';

export class TelemetryMetrics {
  private readonly up: Gauge<'source'>;
  private readonly utilization: Gauge<'gpu' | 'uuid' | 'name'>;
  private readonly memoryUsed: Gauge<'gpu' | 'uuid' | 'name'>;
  private readonly memoryTotal: Gauge<'gpu' | 'uuid' | 'name'>;
  private readonly power: Gauge<'gpu' | 'uuid' | 'name'>;
  private readonly temperature: Gauge<'gpu' | 'uuid' | 'name'>;

  constructor(registry: Registry) {
    const labelNames = ['gpu', 'uuid', 'name'] as const;
    const registers = [registry];
    this.up = new Gauge({
      name: 'switchyard_gpu_telemetry_up',
      help: '1 when the GPU telemetry source answered',
      labelNames: ['source'],
      registers,
    });
    this.utilization = new Gauge({
      name: 'switchyard_gpu_utilization_ratio',
      help: 'GPU utilization in [0,1]',
      labelNames,
      registers,
    });
    this.memoryUsed = new Gauge({
      name: 'switchyard_gpu_memory_used_bytes',
      help: 'GPU framebuffer memory used',
      labelNames,
      registers,
    });
    this.memoryTotal = new Gauge({
      name: 'switchyard_gpu_memory_total_bytes',
      help: 'GPU framebuffer memory total',
      labelNames,
      registers,
    });
    this.power = new Gauge({ name: 'switchyard_gpu_power_watts', help: 'GPU power draw', labelNames, registers });
    this.temperature = new Gauge({
      name: 'switchyard_gpu_temperature_celsius',
      help: 'GPU core temperature',
      labelNames,
      registers,
    });
  }

  update(reading: TelemetryReading): void {
    this.up.reset();
    this.up.set({ source: reading.source }, reading.available ? 1 : 0);
    for (const gauge of [this.utilization, this.memoryUsed, this.memoryTotal, this.power, this.temperature])
      gauge.reset();
    for (const sample of reading.samples) {
      const labels = { gpu: sample.index, uuid: sample.uuid ?? '', name: sample.name ?? '' };
      if (sample.utilization !== null) this.utilization.set(labels, sample.utilization);
      if (sample.memoryUsedBytes !== null) this.memoryUsed.set(labels, sample.memoryUsedBytes);
      if (sample.memoryTotalBytes !== null) this.memoryTotal.set(labels, sample.memoryTotalBytes);
      if (sample.powerWatts !== null) this.power.set(labels, sample.powerWatts);
      if (sample.temperatureCelsius !== null) this.temperature.set(labels, sample.temperatureCelsius);
    }
  }
}

/** Mean utilization of the given GPUs (all when `gpuIds` is empty) in [0,1], or null when nothing is known. */
export function meanUtilization(reading: TelemetryReading, gpuIds: readonly string[] = []): number | null {
  const values = reading.samples
    .filter((sample) => gpuIds.length === 0 || gpuIds.includes(sample.index))
    .map((sample) => sample.utilization)
    .filter((value): value is number => value !== null);
  return values.length === 0 ? null : values.reduce((sum, value) => sum + value, 0) / values.length;
}
