// Accelerators: datasheet memory, bandwidth and dense bf16 throughput; hourly prices live in prices.yaml.
import { z } from 'zod';

export const GpuId = z.enum(['a10g', 'l4', 'a100-40gb', 'a100-80gb', 'h100']);
export type GpuId = z.infer<typeof GpuId>;

export interface GpuSpec {
  id: GpuId;
  displayName: string;
  /** Device memory in bytes (decimal GB × 1e9, as datasheets state it). */
  memoryBytes: number;
  /** Peak memory bandwidth, bytes/s. */
  memoryBandwidth: number;
  /** Dense (no sparsity) bf16 tensor throughput, FLOP/s. */
  bf16Flops: number;
  /** Per-direction bandwidth between GPUs of one node used for tensor-parallel all-reduce, bytes/s. */
  interconnectBandwidth: number;
  interconnect: 'nvlink' | 'pcie';
  source: string;
}

const GB = 1e9;
const TB = 1e12;

export const GPUS: Readonly<Record<GpuId, GpuSpec>> = {
  a10g: {
    id: 'a10g',
    displayName: 'NVIDIA A10G 24GB',
    memoryBytes: 24 * GB,
    memoryBandwidth: 600 * GB,
    // AWS does not publish an A10G datasheet; the A10's is 125 dense bf16 TFLOP/s at a higher clock. 70 is the
    // figure commonly measured/quoted for the A10G's lower clocks.
    bf16Flops: 70 * TB,
    interconnectBandwidth: 16 * GB,
    interconnect: 'pcie',
    source: 'AWS EC2 G5 instance page; NVIDIA A10 datasheet (A10G is its AWS variant)',
  },
  l4: {
    id: 'l4',
    displayName: 'NVIDIA L4 24GB',
    memoryBytes: 24 * GB,
    memoryBandwidth: 300 * GB,
    bf16Flops: 121 * TB,
    interconnectBandwidth: 32 * GB,
    interconnect: 'pcie',
    source: 'NVIDIA L4 datasheet (242 TFLOP/s bf16 with sparsity → 121 dense)',
  },
  'a100-40gb': {
    id: 'a100-40gb',
    displayName: 'NVIDIA A100 40GB SXM',
    memoryBytes: 40 * GB,
    memoryBandwidth: 1555 * GB,
    bf16Flops: 312 * TB,
    interconnectBandwidth: 300 * GB,
    interconnect: 'nvlink',
    source: 'NVIDIA A100 datasheet',
  },
  'a100-80gb': {
    id: 'a100-80gb',
    displayName: 'NVIDIA A100 80GB SXM',
    memoryBytes: 80 * GB,
    memoryBandwidth: 2039 * GB,
    bf16Flops: 312 * TB,
    interconnectBandwidth: 300 * GB,
    interconnect: 'nvlink',
    source: 'NVIDIA A100 datasheet',
  },
  h100: {
    id: 'h100',
    displayName: 'NVIDIA H100 80GB SXM',
    memoryBytes: 80 * GB,
    memoryBandwidth: 3350 * GB,
    bf16Flops: 989 * TB,
    interconnectBandwidth: 450 * GB,
    interconnect: 'nvlink',
    source: 'NVIDIA H100 datasheet (SXM5, HBM3)',
  },
};

export function getGpu(id: string): GpuSpec {
  const parsed = GpuId.safeParse(id);
  if (!parsed.success) {
    throw new Error(`unknown GPU "${id}"; known: ${GpuId.options.join(', ')}`);
  }
  return GPUS[parsed.data];
}
