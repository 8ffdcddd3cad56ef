import { describe, expect, it } from 'vitest';
import { cdfPoints, compactNumber, downsample, escapeXml, lineChart, niceTicks } from './svg.ts';

describe('inline SVG charts', () => {
  it('nice ticks cover the range in 1/2/5 steps', () => {
    expect(niceTicks(0, 100)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0.05, 1)).toEqual([0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(3, 3)).toEqual([3]);
  });

  it('CDF points end at 1 and downsampling keeps the ends', () => {
    const points = cdfPoints([3, 1, 2, 4]);
    expect(points).toEqual([
      [1, 0.25],
      [2, 0.5],
      [3, 0.75],
      [4, 1],
    ]);
    const many = downsample(
      Array.from({ length: 1000 }, (_, index) => index),
      10,
    );
    expect(many).toHaveLength(10);
    expect(many[0]).toBe(0);
    expect(many.at(-1)).toBe(999);
  });

  it('renders one path per non-empty series, escapes text and clips to the plot', () => {
    const svg = lineChart({
      id: 'demo',
      title: 'A <b> & "c"',
      xLabel: 'x',
      yLabel: 'y',
      series: [
        {
          name: 's1',
          points: [
            [0, 1],
            [1, 3],
          ],
        },
        { name: 's2', points: [[0, 2]], markers: true },
        { name: 'empty', points: [] },
      ],
      yMarks: [{ y: 2.5, label: 'api' }],
    });
    expect(svg.match(/<path class="series"/g)).toHaveLength(2);
    expect(svg).toContain('A &lt;b&gt; &amp; &quot;c&quot;');
    expect(svg).toContain('clip-path="url(#plot-demo)"');
    expect(svg).not.toContain('NaN');
    expect(escapeXml('<&>')).toBe('&lt;&amp;&gt;');
    expect(compactNumber(250_000)).toBe('250k');
    expect(compactNumber(1_500_000)).toBe('1.5M');
  });
});
