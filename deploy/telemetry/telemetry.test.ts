import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseDcgmMetrics } from './dcgm.ts';
import { TelemetryMetrics, meanUtilization } from './metrics.ts';
import { latestPerGpu, parseDmon, parseNumber, parseQueryCsv, parseQueryXml } from './nvidia-smi.ts';
import { parsePrometheusText } from './prom-text.ts';
import { DcgmExporterSource, NvidiaSmiSource, type ExecFile } from './sources.ts';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
const MIB = 1024 * 1024;
const H100_UUID = 'GPU-75b1db44-6a53-57dd-b159-79609df52e8b';

describe('nvidia-smi CSV (real H100 capture)', () => {
  const withUnits = parseQueryCsv(fixture('nvidia-smi/h100/nvsmi_query_load.csv'));

  it('reads every row of the looped query with units stripped', () => {
    const lines = fixture('nvidia-smi/h100/nvsmi_query_load.csv').trim().split('\n');
    expect(withUnits).toHaveLength(lines.length - 1);
    const first = withUnits[0]!;
    expect(first).toMatchObject({
      index: '0',
      uuid: H100_UUID,
      name: 'NVIDIA H100 80GB HBM3',
      utilization: 0,
      memoryUsedBytes: 0,
      memoryTotalBytes: 81559 * MIB,
      powerWatts: 73.08,
      temperatureCelsius: 42,
      timestamp: '2026/11/27 06:48:57.016',
    });
  });

  it('sees the load: utilization, held memory, power and temperature rise', () => {
    const peak = withUnits.reduce((best, sample) =>
      (sample.utilization ?? 0) > (best.utilization ?? 0) ? sample : best,
    );
    expect(peak.utilization).toBeGreaterThan(0.5);
    expect(peak.memoryUsedBytes).toBe(29751 * MIB);
    expect(peak.powerWatts).toBeGreaterThan(300);
    const idle = withUnits[0]!;
    expect(peak.temperatureCelsius!).toBeGreaterThan(idle.temperatureCelsius!);
    expect(Math.max(...withUnits.map((sample) => sample.memoryUsedBytes ?? 0))).toBeGreaterThan(29e9);
  });

  it('parses the noheader,nounits variant with a field list to the same values', () => {
    const fields = [
      'timestamp',
      'index',
      'uuid',
      'name',
      'pci.bus_id',
      'utilization.gpu',
      'utilization.memory',
      'memory.total',
      'memory.used',
      'memory.free',
      'power.draw',
      'power.limit',
      'temperature.gpu',
      'clocks.sm',
      'clocks.mem',
      'pstate',
    ];
    const rows = parseQueryCsv(fixture('nvidia-smi/h100/nvsmi_query_load_nounits.csv'), { fields });
    expect(rows.length).toBeGreaterThan(10);
    expect(rows[0]).toMatchObject({ index: '0', uuid: H100_UUID, memoryTotalBytes: 81559 * MIB, powerWatts: 73.08 });
    expect(rows.some((row) => (row.memoryUsedBytes ?? 0) === 29751 * MIB)).toBe(true);
    expect(latestPerGpu(rows)).toEqual([rows.at(-1)]);
  });

  it('turns N/A and Not Supported into null and rejects ragged rows', () => {
    expect(parseNumber('[N/A]')).toBeNull();
    expect(parseNumber('[Not Supported]')).toBeNull();
    expect(parseNumber('12.5 W')).toBe(12.5);
    const [row] = parseQueryCsv('3, GPU-x, NVIDIA A10G, [N/A], 100, 23028, [Not Supported], 40\n');
    expect(row).toMatchObject({ index: '3', utilization: null, powerWatts: null, memoryUsedBytes: 100 * MIB });
    expect(() => parseQueryCsv('0, GPU-x\n')).toThrow(/expected 8/);
  });
});

describe('nvidia-smi XML and dmon (real H100 capture)', () => {
  it('reads -q -x', () => {
    expect(parseQueryXml(fixture('nvidia-smi/h100/nvsmi_idle.xml'))).toEqual([
      {
        index: '0',
        uuid: H100_UUID,
        name: 'NVIDIA H100 80GB HBM3',
        utilization: 0,
        memoryUsedBytes: 0,
        memoryTotalBytes: 81559 * MIB,
        powerWatts: 73.8,
        temperatureCelsius: 43,
      },
    ]);
    expect(() => parseQueryXml('<other/>')).toThrow(/nvidia_smi_log/);
  });

  it('reads dmon rows under load', () => {
    const rows = parseDmon(fixture('nvidia-smi/h100/nvsmi_dmon.txt'));
    expect(rows).toHaveLength(5);
    expect(rows[2]).toEqual({
      index: '0',
      powerWatts: 404,
      temperatureCelsius: 58,
      smUtilization: 0.32,
      memoryUtilization: 0.12,
    });
    expect(() => parseDmon('0 1 2\n')).toThrow(/header/);
  });
});

describe('DCGM exporter metrics', () => {
  it('maps DCGM_FI_DEV_* series to the same sample shape, total = used + free + reserved', () => {
    const [sample] = parseDcgmMetrics(fixture('dcgm/h100-load.prom'));
    expect(sample).toEqual({
      index: '0',
      uuid: H100_UUID,
      name: 'NVIDIA H100 80GB HBM3',
      utilization: 0.7,
      memoryUsedBytes: 29751 * MIB,
      memoryTotalBytes: 81559 * MIB,
      powerWatts: 399.67,
      temperatureCelsius: 52,
    });
  });

  it('parses escapes, NaN and timestamps in the text format, and names the bad line', () => {
    const samples = parsePrometheusText('a{l="x\\"y\\\\z"} NaN\nb 3 1700000000\n# c\n');
    expect(samples[0]?.labels['l']).toBe('x"y\\z');
    expect(Number.isNaN(samples[0]?.value)).toBe(true);
    expect(samples[1]).toEqual({ name: 'b', labels: {}, value: 3 });
    expect(() => parsePrometheusText('ok 1\nbad{x=1} 2')).toThrow(/line 2/);
  });
});

describe('telemetry sources degrade cleanly without GPUs', () => {
  it('nvidia-smi missing → unavailable with the reason, no throw', async () => {
    const source = new NvidiaSmiSource({ binary: 'nvidia-smi-that-does-not-exist-here' });
    const reading = await source.read();
    expect(reading).toMatchObject({ source: 'nvidia-smi', available: false, samples: [] });
    expect(reading.detail).toMatch(/not found/);
  });

  it('a driver failure is reported with its stderr line', async () => {
    const exec: ExecFile = () =>
      Promise.reject(
        Object.assign(new Error('exit 9'), {
          code: 9,
          stderr: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n",
        }),
      );
    const reading = await new NvidiaSmiSource({ exec }).read();
    expect(reading.available).toBe(false);
    expect(reading.detail).toMatch(/couldn't communicate/);
  });

  it('runs the query and keeps the newest row per GPU', async () => {
    const exec: ExecFile = (_file, args) => {
      expect(args[0]).toMatch(/^--query-gpu=index,uuid,name,utilization.gpu/);
      return Promise.resolve({
        stdout: '0, GPU-a, A, 10, 1, 2, 3, 4\n1, GPU-b, B, 50, 1, 2, 3, 4\n0, GPU-a, A, 90, 1, 2, 3, 4\n',
        stderr: '',
      });
    };
    const reading = await new NvidiaSmiSource({ exec }).read();
    expect(reading.samples.map((sample) => [sample.index, sample.utilization])).toEqual([
      ['0', 0.9],
      ['1', 0.5],
    ]);
    expect(meanUtilization(reading)).toBeCloseTo(0.7);
    expect(meanUtilization(reading, ['1'])).toBeCloseTo(0.5);
  });

  it('an unreachable DCGM exporter is unavailable, not an error', async () => {
    const reading = await new DcgmExporterSource({ url: 'http://127.0.0.1:9/metrics', timeoutMs: 2000 }).read();
    expect(reading).toMatchObject({ source: 'dcgm', available: false });
  });

  it('exports gauges and an up metric', async () => {
    const registry = new Registry();
    const metrics = new TelemetryMetrics(registry);
    metrics.update({
      source: 'dcgm',
      available: true,
      samples: parseDcgmMetrics(fixture('dcgm/h100-load.prom')),
      detail: '',
    });
    let text = await registry.metrics();
    expect(text).toMatch(
      /switchyard_gpu_utilization_ratio\{gpu="0",uuid="GPU-75b1db44[^"]*",name="NVIDIA H100 80GB HBM3"\} 0.7/,
    );
    expect(text).toMatch(/switchyard_gpu_telemetry_up\{source="dcgm"\} 1/);
    metrics.update({ source: 'nvidia-smi', available: false, samples: [], detail: 'not found' });
    text = await registry.metrics();
    expect(text).toMatch(/switchyard_gpu_telemetry_up\{source="nvidia-smi"\} 0/);
    expect(text).not.toMatch(/switchyard_gpu_utilization_ratio\{/);
  });
});
