// GPU samples from NVIDIA dcgm-exporter's `/metrics`: one series per field per GPU, labelled gpu/UUID/modelName.
import type { GpuSample } from '../contracts.ts';
import { parsePrometheusText } from './prom-text.ts';

const MIB = 1024 * 1024;

export function parseDcgmMetrics(body: string): GpuSample[] {
  const byGpu = new Map<string, GpuSample>();
  const sampleOf = (labels: Readonly<Record<string, string>>): GpuSample | undefined => {
    const index = labels['gpu'];
    if (index === undefined) return undefined;
    let sample = byGpu.get(index);
    if (!sample) {
      sample = {
        index,
        uuid: labels['UUID'] ?? null,
        name: labels['modelName'] ?? null,
        utilization: null,
        memoryUsedBytes: null,
        memoryTotalBytes: null,
        powerWatts: null,
        temperatureCelsius: null,
      };
      byGpu.set(index, sample);
    }
    return sample;
  };
  let free = new Map<string, number>();
  let reserved = new Map<string, number>();
  for (const { name, labels, value } of parsePrometheusText(body)) {
    if (!name.startsWith('DCGM_FI_DEV_')) continue;
    const sample = sampleOf(labels);
    if (!sample || !Number.isFinite(value)) continue;
    switch (name) {
      case 'DCGM_FI_DEV_GPU_UTIL':
        sample.utilization = value / 100;
        break;
      case 'DCGM_FI_DEV_FB_USED':
        sample.memoryUsedBytes = value * MIB;
        break;
      case 'DCGM_FI_DEV_FB_FREE':
        free = free.set(sample.index, value * MIB);
        break;
      case 'DCGM_FI_DEV_FB_RESERVED':
        reserved = reserved.set(sample.index, value * MIB);
        break;
      case 'DCGM_FI_DEV_POWER_USAGE':
        sample.powerWatts = value;
        break;
      case 'DCGM_FI_DEV_GPU_TEMP':
        sample.temperatureCelsius = value;
        break;
      default:
        break;
    }
  }
  // DCGM has no total-memory gauge: total = used + free + reserved (what nvidia-smi reports as memory.total).
  for (const sample of byGpu.values()) {
    const freeBytes = free.get(sample.index);
    if (sample.memoryUsedBytes !== null && freeBytes !== undefined) {
      sample.memoryTotalBytes = sample.memoryUsedBytes + freeBytes + (reserved.get(sample.index) ?? 0);
    }
  }
  return [...byGpu.values()].sort((a, b) => Number(a.index) - Number(b.index));
}
