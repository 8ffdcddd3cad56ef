import { describe, expect, it } from 'vitest';
import { distribution, meetsSlo, percentile, summarize, throughputTimeline, timePerOutputToken } from './metrics.ts';
import type { RequestRecord } from './records.ts';

/** A streaming request whose chunks arrived at `chunkTimes` (ms after send), one token per chunk. */
function trace(
  index: number,
  startMs: number,
  chunkTimes: number[],
  extra: Partial<RequestRecord> = {},
): RequestRecord {
  const [first = 0, ...rest] = chunkTimes;
  const itl = rest.map((time, i) => time - (chunkTimes[i] ?? 0));
  return {
    index,
    startMs,
    success: true,
    ttftMs: first,
    itlMs: itl,
    e2eMs: chunkTimes.at(-1) ?? 0,
    promptTokens: 100,
    outputTokens: chunkTimes.length,
    outputTokenSource: 'usage',
    ...extra,
  };
}

describe('percentile (numpy linear interpolation)', () => {
  it('interpolates between order statistics like numpy.percentile', () => {
    const values = [1, 2, 3, 4];
    expect(percentile(values, 50)).toBeCloseTo(2.5, 12);
    expect(percentile(values, 90)).toBeCloseTo(3.7, 12);
    expect(percentile(values, 99)).toBeCloseTo(3.97, 12);
    expect(percentile([10, 20, 30, 40, 50], 25)).toBeCloseTo(20, 12);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBe(0);
  });

  it('computes mean, population std and median', () => {
    const stats = distribution([2, 4, 4, 4, 5, 5, 7, 9], [50, 90]);
    expect(stats.mean).toBe(5);
    expect(stats.std).toBe(2);
    expect(stats.median).toBe(4.5);
    expect(stats.percentiles['90']).toBeCloseTo(7.6, 12);
  });
});

describe('per-request metrics on hand-built traces', () => {
  it('TTFT, ITL and TPOT follow the vLLM definitions', () => {
    // Chunks at 100, 110, 130, 160 ms: TTFT 100, ITL 10/20/30, TPOT (160 − 100)/(4 − 1) = 20.
    const record = trace(0, 0, [100, 110, 130, 160]);
    expect(record.ttftMs).toBe(100);
    expect(record.itlMs).toEqual([10, 20, 30]);
    expect(timePerOutputToken(record)).toBe(20);
  });

  it('TPOT uses the counted output tokens, not the chunk count (bundled chunks)', () => {
    const record = { ...trace(0, 0, [50, 90]), outputTokens: 9 };
    expect(timePerOutputToken(record)).toBe((90 - 50) / 8);
  });

  it('TPOT is undefined for one-token outputs and counts as 0 for goodput, as in vLLM', () => {
    const single = trace(0, 0, [80]);
    expect(timePerOutputToken(single)).toBeUndefined();
    expect(meetsSlo(single, { tpot: 1 })).toBe(true);
    expect(meetsSlo(single, { ttft: 79 })).toBe(false);
  });

  it('goodput requires every given SLO (≤ passes)', () => {
    const record = trace(0, 0, [200, 250, 300]); // TTFT 200, TPOT 50, E2E 300
    expect(meetsSlo(record, { ttft: 200, tpot: 50, e2el: 300 })).toBe(true);
    expect(meetsSlo(record, { ttft: 199 })).toBe(false);
    expect(meetsSlo(record, { tpot: 49.9 })).toBe(false);
    expect(meetsSlo(record, { e2el: 299 })).toBe(false);
    expect(meetsSlo({ ...record, success: false }, {})).toBe(false);
  });
});

describe('summarize', () => {
  const records: RequestRecord[] = [
    trace(0, 0, [100, 110, 130, 160]), // TTFT 100, TPOT 20, E2E 160
    trace(1, 50, [300, 340]), // TTFT 300, TPOT 40, E2E 340
    trace(2, 100, [120, 125, 130]), // TTFT 120, TPOT 5, E2E 130
    {
      index: 3,
      startMs: 10,
      success: false,
      ttftMs: null,
      itlMs: [],
      e2eMs: 5,
      promptTokens: 100,
      outputTokens: 0,
      outputTokenSource: 'usage',
      error: { type: 'http_5xx', status: 503, message: 'down' },
    },
  ];

  it('aggregates throughput, latencies, goodput and errors exactly', () => {
    const summary = summarize(records, 2, { ttft: 150, tpot: 30 }, [50, 99]);
    expect(summary.completed).toBe(3);
    expect(summary.failed).toBe(1);
    expect(summary.errorsByType).toEqual({ http_5xx: 1 });
    expect(summary.totalInputTokens).toBe(300);
    expect(summary.totalOutputTokens).toBe(9);
    expect(summary.requestThroughput).toBe(1.5);
    expect(summary.outputThroughput).toBe(4.5);
    expect(summary.totalTokenThroughput).toBe(154.5);
    // Good: request 0 (100 ms, 20 ms) and 2 (120 ms, 5 ms); request 1 misses TTFT.
    expect(summary.requestGoodput).toBe(1);
    expect(summary.ttftMs.mean).toBeCloseTo(520 / 3, 10);
    expect(summary.ttftMs.median).toBe(120);
    expect(summary.tpotMs.median).toBe(20);
    expect(summary.itlMs.count).toBe(6);
    expect(summary.itlMs.mean).toBeCloseTo((10 + 20 + 30 + 40 + 5 + 5) / 6, 10);
    expect(summary.e2elMs.percentiles['99']).toBeCloseTo(160 + (340 - 160) * 0.98, 10);
    expect(summary.requestGoodput).not.toBeNull();
  });

  it('reports no goodput without SLOs and keeps cancelled requests out of failures', () => {
    const cancelled: RequestRecord = {
      ...(records[3] as RequestRecord),
      index: 4,
      error: { type: 'cancelled', message: 'end' },
    };
    const summary = summarize([...records, cancelled], 1, {});
    expect(summary.requestGoodput).toBeNull();
    expect(summary.failed).toBe(1);
    expect(summary.cancelled).toBe(1);
  });

  it('buckets output tokens per second of arrival', () => {
    const timeline = throughputTimeline([trace(0, 900, [50, 100, 150]), trace(1, 1500, [600])]);
    // Tokens at 950, 1000, 1050 and 2100 ms; completions at 1050 and 2100.
    expect(timeline.map((bucket) => bucket.outputTokens)).toEqual([1, 2, 1]);
    expect(timeline.map((bucket) => bucket.completed)).toEqual([0, 1, 1]);
  });
});
