// GPU telemetry sources behind one contract. A host without GPUs (this one, CI) gets `available: false` with the reason,
// never an exception: the autoscaler then scales on the router's signals alone.
import { execFile } from 'node:child_process';
import type { GpuTelemetrySource, TelemetryReading } from '../contracts.ts';
import { parseDcgmMetrics } from './dcgm.ts';
import { latestPerGpu, nvidiaSmiQueryArgs, parseQueryCsv } from './nvidia-smi.ts';

export interface ExecResult {
  stdout: string;
  stderr: string;
}

/** Runs a program; rejects with an Error carrying `code` (ENOENT, exit status) like child_process does. */
export type ExecFile = (file: string, args: readonly string[], options: { timeoutMs: number }) => Promise<ExecResult>;

export const execFileAsync: ExecFile = (file, args, options) =>
  new Promise((resolve, reject) => {
    execFile(file, [...args], { timeout: options.timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        reject(Object.assign(error, { stderr: String(stderr) }));
        return;
      }
      resolve({ stdout: String(stdout), stderr: String(stderr) });
    });
  });

function describeFailure(error: unknown, binary: string): string {
  const failure = error as { code?: unknown; stderr?: unknown; message?: unknown; killed?: unknown };
  if (failure.code === 'ENOENT') return `${binary} not found: no NVIDIA driver on this host`;
  if (failure.killed === true) return `${binary} timed out`;
  const stderr = typeof failure.stderr === 'string' ? failure.stderr.trim().split('\n')[0] : '';
  return `${binary} failed: ${stderr !== undefined && stderr !== '' ? stderr : String(failure.message ?? error)}`;
}

export interface NvidiaSmiSourceOptions {
  binary?: string;
  exec?: ExecFile;
  timeoutMs?: number;
}

export class NvidiaSmiSource implements GpuTelemetrySource {
  private readonly binary: string;
  private readonly exec: ExecFile;
  private readonly timeoutMs: number;

  constructor(options: NvidiaSmiSourceOptions = {}) {
    this.binary = options.binary ?? 'nvidia-smi';
    this.exec = options.exec ?? execFileAsync;
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  async read(): Promise<TelemetryReading> {
    try {
      const { stdout } = await this.exec(this.binary, nvidiaSmiQueryArgs(), { timeoutMs: this.timeoutMs });
      const samples = latestPerGpu(parseQueryCsv(stdout)).map(({ timestamp: _timestamp, ...sample }) => sample);
      return {
        source: 'nvidia-smi',
        available: samples.length > 0,
        samples,
        detail: samples.length > 0 ? `${samples.length} GPU(s)` : 'nvidia-smi listed no GPUs',
      };
    } catch (error) {
      return { source: 'nvidia-smi', available: false, samples: [], detail: describeFailure(error, this.binary) };
    }
  }
}

export type FetchText = (url: string, options: { timeoutMs: number }) => Promise<{ status: number; body: string }>;

const fetchText: FetchText = async (url, options) => {
  const response = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs) });
  return { status: response.status, body: await response.text() };
};

export class DcgmExporterSource implements GpuTelemetrySource {
  private readonly url: string;
  private readonly fetchText: FetchText;
  private readonly timeoutMs: number;

  constructor(options: { url: string; fetchText?: FetchText; timeoutMs?: number }) {
    this.url = options.url;
    this.fetchText = options.fetchText ?? fetchText;
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  async read(): Promise<TelemetryReading> {
    try {
      const { status, body } = await this.fetchText(this.url, { timeoutMs: this.timeoutMs });
      if (status !== 200)
        return { source: 'dcgm', available: false, samples: [], detail: `${this.url} answered ${status}` };
      const samples = parseDcgmMetrics(body);
      return {
        source: 'dcgm',
        available: samples.length > 0,
        samples,
        detail: samples.length > 0 ? `${samples.length} GPU(s)` : 'no DCGM_FI_DEV_* series',
      };
    } catch (error) {
      return { source: 'dcgm', available: false, samples: [], detail: `${this.url}: ${(error as Error).message}` };
    }
  }
}

/** For hosts that run only simulator replicas. */
export class NoGpuSource implements GpuTelemetrySource {
  read(): Promise<TelemetryReading> {
    return Promise.resolve({ source: 'none', available: false, samples: [], detail: 'telemetry disabled' });
  }
}
