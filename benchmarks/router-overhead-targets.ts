// The performance targets router-overhead.ts checks, as PASS/FAIL lines: time to first token the router adds over the
// direct path (streams), JSON throughput and CPU per request against the bare proxy, and the router's RSS under load.
// Each verdict compares numbers measured in the same run, so a busy host moves both sides.
import { loadavg } from 'node:os';

export interface LevelResult {
  mode: 'json' | 'stream';
  concurrency: number;
  /** Router rps / proxy rps, pooled over all rounds, and the median of the per-round ratios. */
  rpsRatio: number;
  rpsRatioMedian: number;
  /** CPU per request of each process at this level, µs. */
  cpuProxyUs: number;
  cpuRouterUs: number;
  /** Streams: TTFT p50/p99 of router and direct, ms (NaN for JSON). */
  ttftRouter: readonly [number, number];
  ttftDirect: readonly [number, number];
  /** The bare proxy's TTFT: what any extra hop costs on this host. */
  ttftProxy: readonly [number, number];
  /** Streams: TTFT samples through the router (the p50's footing). */
  ttftSamples?: number;
}

export interface Targets {
  /** TTFT added p50, ms, by concurrency (issue: 0.3 at 1, 1 at 64). */
  ttftAddedP50: ReadonlyMap<number, number>;
  /** JSON router/proxy throughput floor at every level. */
  jsonRatio: number;
  /** JSON CPU per request ceiling, router / proxy. */
  jsonCpuRatio: number;
  /** Router RSS under the benchmark's load, MB. */
  rssUnderLoadMb: number;
}

export const ISSUE_TARGETS: Targets = {
  ttftAddedP50: new Map([
    [1, 0.3],
    [64, 1],
  ]),
  jsonRatio: 0.85,
  jsonCpuRatio: 1.2,
  rssUnderLoadMb: 150,
};

const fmt = (value: number, digits = 3): string => value.toFixed(digits);

/** The TTFT table: per stream level, p50/p99 of direct, router, and router minus direct. */
export function ttftTable(results: readonly LevelResult[]): string[] {
  const lines = [
    '| conc | TTFT direct p50/p99 ms | TTFT proxy p50/p99 ms | TTFT router p50/p99 ms | TTFT added by the proxy p50/p99 ms | TTFT added by the router p50/p99 ms | streams through the router |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const result of results.filter((entry) => entry.mode === 'stream')) {
    const [routerP50, routerP99] = result.ttftRouter;
    const [directP50, directP99] = result.ttftDirect;
    const [proxyP50, proxyP99] = result.ttftProxy;
    lines.push(
      `| ${result.concurrency} | ${fmt(directP50)}/${fmt(directP99)} | ${fmt(proxyP50)}/${fmt(proxyP99)} | ${fmt(routerP50)}/${fmt(routerP99)} | ` +
        `${fmt(proxyP50 - directP50)}/${fmt(proxyP99 - directP99)} | ${fmt(routerP50 - directP50)}/${fmt(routerP99 - directP99)} | ` +
        `${result.ttftSamples ?? '-'} |`,
    );
  }
  return lines;
}

/** One line per target: PASS, FAIL, or SKIP when this run did not measure it. */
export function verdicts(
  results: readonly LevelResult[],
  jsonCpuRatio: number,
  peakRssMb: number,
  targets: Targets = ISSUE_TARGETS,
): string[] {
  const lines: string[] = [];
  const verdict = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');
  for (const [concurrency, limit] of targets.ttftAddedP50) {
    const level = results.find((entry) => entry.mode === 'stream' && entry.concurrency === concurrency);
    if (!level) {
      lines.push(
        `SKIP  TTFT added p50 ≤ ${limit} ms at concurrency ${concurrency} (no stream level ${concurrency} in this run)`,
      );
      continue;
    }
    const added = level.ttftRouter[0] - level.ttftDirect[0];
    const proxyAdded = level.ttftProxy[0] - level.ttftDirect[0];
    lines.push(
      `${verdict(added <= limit)}  TTFT added p50 ≤ ${limit} ms at concurrency ${concurrency}: ${fmt(added)} ms ` +
        `(a bare proxy's hop: ${fmt(proxyAdded)} ms in the same rounds; the router beyond that hop: ` +
        `${fmt(added - proxyAdded)} ms)`,
    );
  }
  const json = results.filter((entry) => entry.mode === 'json');
  if (json.length === 0) {
    lines.push(`SKIP  JSON ≥ ${targets.jsonRatio}× the proxy (no JSON levels in this run)`);
  } else {
    for (const level of json) {
      lines.push(
        `${verdict(level.rpsRatio >= targets.jsonRatio)}  JSON ≥ ${targets.jsonRatio}× the proxy at concurrency ${level.concurrency}: ` +
          `${fmt(level.rpsRatio, 2)}× pooled (median of rounds ${fmt(level.rpsRatioMedian, 2)}×)`,
      );
    }
    lines.push(
      `${verdict(jsonCpuRatio <= targets.jsonCpuRatio)}  JSON CPU per request ≤ ${targets.jsonCpuRatio}× the proxy's: ${fmt(jsonCpuRatio, 2)}× ` +
        `(by level: ${json.map((level) => fmt(level.cpuRouterUs / level.cpuProxyUs, 2)).join(' / ')})`,
    );
  }
  lines.push(
    `${verdict(peakRssMb <= targets.rssUnderLoadMb)}  router RSS under load ≤ ${targets.rssUnderLoadMb} MB: peak ${fmt(peakRssMb, 0)} MB`,
  );
  return lines;
}

/** "1.23 0.98 0.77" — the 1, 5 and 15 minute load averages, to print beside every number. */
export function loadAverage(): string {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
}
