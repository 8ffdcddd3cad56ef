// Parsers for real nvidia-smi output: `--query-gpu … --format=csv` (with or without header/units), `-q -x` XML and
// `dmon`. Values nvidia-smi cannot give ("[N/A]", "[Not Supported]", "N/A") become null, never NaN or 0.
import { XMLParser } from 'fast-xml-parser';
import type { GpuSample } from '../contracts.ts';

const MIB = 1024 * 1024;

/** The fields Switchyard queries, in this order: `nvidia-smi --query-gpu=<QUERY_FIELDS> --format=csv,noheader,nounits`. */
export const QUERY_FIELDS = [
  'index',
  'uuid',
  'name',
  'utilization.gpu',
  'memory.used',
  'memory.total',
  'power.draw',
  'temperature.gpu',
] as const;

export function nvidiaSmiQueryArgs(): string[] {
  return [`--query-gpu=${QUERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];
}

/** One CSV row with its timestamp (when the query asked for one). */
export interface TimedSample extends GpuSample {
  timestamp: string | null;
}

// nvidia-smi prints some fields under a longer name in the header than the one queried.
const HEADER_ALIASES: Readonly<Record<string, string>> = {
  'clocks.current.sm': 'clocks.sm',
  'clocks.current.memory': 'clocks.mem',
  gpu_name: 'name',
  gpu_uuid: 'uuid',
};

function normaliseField(header: string): string {
  const name = header.replace(/\s*\[[^\]]*\]\s*$/, '').trim();
  return HEADER_ALIASES[name] ?? name;
}

function isMissing(raw: string): boolean {
  return (
    raw === '' ||
    /^\[?(N\/A|Not Supported|Unknown Error|Insufficient Permissions|Requested functionality has been deprecated)\]?$/i.test(
      raw,
    )
  );
}

/** A number from "38 %", "29751 MiB", "351.89 W", "42" — or null. */
export function parseNumber(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const text = raw.trim();
  if (isMissing(text)) return null;
  const match = /^(-?\d+(?:\.\d+)?)(?:\s*[A-Za-z%]+)?$/.exec(text);
  return match ? Number(match[1]) : null;
}

function text(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  const value = raw.trim();
  return isMissing(value) ? null : value;
}

function mib(raw: string | undefined): number | null {
  const value = parseNumber(raw);
  return value === null ? null : value * MIB;
}

function percent(raw: string | undefined): number | null {
  const value = parseNumber(raw);
  return value === null ? null : value / 100;
}

export interface CsvOptions {
  /** Field names for output printed with `noheader` (defaults to QUERY_FIELDS). */
  fields?: readonly string[];
}

/**
 * Parse `nvidia-smi --query-gpu=… --format=csv[,noheader][,nounits]`. A header line, when present, names the fields
 * (units in brackets are dropped); otherwise `options.fields` does. Rows of a `-lms` loop are all returned, in order.
 */
export function parseQueryCsv(output: string, options: CsvOptions = {}): TimedSample[] {
  const lines = output.split(/\r?\n/).filter((line) => line.trim() !== '');
  if (lines.length === 0) return [];
  let fields: string[];
  let rows = lines;
  const firstCells = lines[0]!.split(',').map((cell) => cell.trim());
  if (firstCells.includes('index') || firstCells.some((cell) => /^(uuid|name|utilization\.gpu)/.test(cell))) {
    fields = firstCells.map(normaliseField);
    rows = lines.slice(1);
  } else {
    fields = [...(options.fields ?? QUERY_FIELDS)];
  }
  return rows.map((line, lineNumber) => {
    const cells = line.split(',').map((cell) => cell.trim());
    if (cells.length !== fields.length) {
      throw new Error(
        `nvidia-smi CSV row ${lineNumber + 1} has ${cells.length} cells, expected ${fields.length}: ${line}`,
      );
    }
    const cell = (name: string): string | undefined => {
      const at = fields.indexOf(name);
      return at < 0 ? undefined : cells[at];
    };
    const index = text(cell('index'));
    if (index === null) throw new Error(`nvidia-smi CSV row ${lineNumber + 1} has no index field`);
    return {
      timestamp: text(cell('timestamp')),
      index,
      uuid: text(cell('uuid')),
      name: text(cell('name')),
      utilization: percent(cell('utilization.gpu')),
      memoryUsedBytes: mib(cell('memory.used')),
      memoryTotalBytes: mib(cell('memory.total')),
      powerWatts: parseNumber(cell('power.draw')),
      temperatureCelsius: parseNumber(cell('temperature.gpu')),
    };
  });
}

/** The newest sample of each GPU (rows of a looped query arrive oldest first). */
export function latestPerGpu<T extends GpuSample>(samples: readonly T[]): T[] {
  const latest = new Map<string, T>();
  for (const sample of samples) latest.set(sample.index, sample);
  return [...latest.values()].sort((a, b) => Number(a.index) - Number(b.index));
}

type XmlNode = Record<string, unknown>;

function child(node: unknown, key: string): unknown {
  return node !== null && typeof node === 'object' ? (node as XmlNode)[key] : undefined;
}

function leaf(node: unknown, ...path: string[]): string | undefined {
  let current = node;
  for (const key of path) current = child(current, key);
  if (typeof current === 'string') return current;
  if (typeof current === 'number') return String(current);
  return undefined;
}

/** Parse `nvidia-smi -q -x`. GPUs are listed in index order, which is what their position becomes. */
export function parseQueryXml(xml: string): GpuSample[] {
  const parser = new XMLParser({ ignoreAttributes: false, parseTagValue: false, isArray: (name) => name === 'gpu' });
  const document = parser.parse(xml) as XmlNode;
  const log = child(document, 'nvidia_smi_log');
  if (log === undefined) throw new Error('not nvidia-smi XML: no <nvidia_smi_log> element');
  const gpus = child(log, 'gpu');
  if (!Array.isArray(gpus)) return [];
  return gpus.map((gpu: unknown, position) => {
    const power =
      leaf(gpu, 'gpu_power_readings', 'instant_power_draw') ??
      leaf(gpu, 'gpu_power_readings', 'power_draw') ??
      leaf(gpu, 'power_readings', 'power_draw');
    return {
      index: String(position),
      uuid: text(leaf(gpu, 'uuid')),
      name: text(leaf(gpu, 'product_name')),
      utilization: percent(leaf(gpu, 'utilization', 'gpu_util')),
      memoryUsedBytes: mib(leaf(gpu, 'fb_memory_usage', 'used')),
      memoryTotalBytes: mib(leaf(gpu, 'fb_memory_usage', 'total')),
      powerWatts: parseNumber(power),
      temperatureCelsius: parseNumber(leaf(gpu, 'temperature', 'gpu_temp')),
    };
  });
}

export interface DmonSample {
  index: string;
  powerWatts: number | null;
  temperatureCelsius: number | null;
  /** SM activity in [0,1]. */
  smUtilization: number | null;
  memoryUtilization: number | null;
}

/** Parse `nvidia-smi dmon`: a `# gpu pwr gtemp …` header, a units line, then one row per GPU per interval. */
export function parseDmon(output: string): DmonSample[] {
  let columns: string[] | undefined;
  const samples: DmonSample[] = [];
  for (const line of output.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    if (trimmed.startsWith('#')) {
      const names = trimmed.slice(1).trim().split(/\s+/);
      // The first header line names columns; the second (units: "Idx W C …") does not start with "gpu".
      if (names[0] === 'gpu') columns = names;
      continue;
    }
    if (!columns) throw new Error('nvidia-smi dmon output has no "# gpu …" header line');
    const cells = trimmed.split(/\s+/);
    const cell = (name: string): string | undefined => {
      const at = columns!.indexOf(name);
      return at < 0 ? undefined : cells[at];
    };
    const dash = (raw: string | undefined): string | undefined => (raw === '-' ? 'N/A' : raw);
    const sm = parseNumber(dash(cell('sm')));
    const memory = parseNumber(dash(cell('mem')));
    samples.push({
      index: cells[0] ?? '',
      powerWatts: parseNumber(dash(cell('pwr'))),
      temperatureCelsius: parseNumber(dash(cell('gtemp'))),
      smUtilization: sm === null ? null : sm / 100,
      memoryUtilization: memory === null ? null : memory / 100,
    });
  }
  return samples;
}
