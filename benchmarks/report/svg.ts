// Inline SVG line charts, generated as strings: reports stay self-contained (no script, no network, no chart library).
export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
  /** Draw markers at each point (sweeps with few points) instead of only the line. */
  markers?: boolean;
  dashed?: boolean;
  /** Step line (CDFs, per-second buckets). */
  step?: boolean;
}

export interface ChartOptions {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  width?: number;
  height?: number;
  xMin?: number;
  yMin?: number;
  yMax?: number;
  /** Vertical reference lines (e.g. the breakeven point). */
  xMarks?: readonly { x: number; label: string }[];
  /** Horizontal reference lines (e.g. the API price). */
  yMarks?: readonly { y: number; label: string }[];
  formatX?: (value: number) => string;
  formatY?: (value: number) => string;
}

export const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** "Nice" tick values (1, 2, 5 × 10^k steps) covering [min, max]. */
export function niceTicks(min: number, max: number, target = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0];
  if (max <= min) return [min];
  const rough = (max - min) / target;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 5, 10].find((factor) => factor * magnitude >= rough) ?? 10) * magnitude;
  const ticks: number[] = [];
  for (let value = Math.ceil(min / step) * step; value <= max + step * 1e-9; value += step) {
    ticks.push(Number(value.toPrecision(12)));
    if (ticks.length > 50) break;
  }
  return ticks;
}

export function compactNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${Number((value / 1e9).toPrecision(3))}G`;
  if (abs >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`;
  if (abs >= 1e4) return `${Number((value / 1e3).toPrecision(3))}k`;
  if (abs >= 100 || value === 0) return String(Math.round(value));
  return String(Number(value.toPrecision(3)));
}

/** Keeps at most `limit` points, evenly spaced in index (CDFs of thousands of ITLs stay small). */
export function downsample<T>(points: readonly T[], limit: number): T[] {
  if (points.length <= limit) return [...points];
  const out: T[] = [];
  for (let index = 0; index < limit; index += 1)
    out.push(points[Math.round((index * (points.length - 1)) / (limit - 1))] as T);
  return out;
}

/** Empirical CDF points (value, fraction ≤ value). */
export function cdfPoints(values: readonly number[], limit = 400): [number, number][] {
  const sorted = [...values].sort((a, b) => a - b);
  return downsample(
    sorted.map((value, index): [number, number] => [value, (index + 1) / sorted.length]),
    limit,
  );
}

export function lineChart(options: ChartOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 340;
  // Legend entries sit in rows under the title, outside the plot, so they never hide data.
  const legendWidths = options.series.map((series) => 34 + Math.min(series.name.length, 40) * 6.2);
  const legendRows: { index: number; x: number; row: number }[] = [];
  {
    let x = 64;
    let row = 0;
    legendWidths.forEach((itemWidth, index) => {
      if (x + itemWidth > width - 10 && x > 64) {
        row += 1;
        x = 64;
      }
      legendRows.push({ index, x, row });
      x += itemWidth + 8;
    });
  }
  const rows = legendRows.length === 0 ? 0 : (legendRows.at(-1)?.row ?? 0) + 1;
  const margin = { top: 32 + rows * 16, right: 20, bottom: 48, left: 64 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const all = options.series.flatMap((series) => series.points);
  const xs = [...all.map((point) => point[0]), ...(options.xMarks ?? []).map((mark) => mark.x)];
  const ys = [...all.map((point) => point[1]), ...(options.yMarks ?? []).map((mark) => mark.y)];
  let xMin = options.xMin ?? Math.min(...xs);
  let xMax = Math.max(...xs);
  let yMin = options.yMin ?? Math.min(0, ...ys);
  let yMax = options.yMax ?? Math.max(...ys);
  if (!Number.isFinite(xMin) || !Number.isFinite(xMax)) [xMin, xMax] = [0, 1];
  if (!Number.isFinite(yMin) || !Number.isFinite(yMax)) [yMin, yMax] = [0, 1];
  if (xMax === xMin) [xMin, xMax] = [xMin - 1 < 0 && xMin >= 0 ? 0 : xMin - 1, xMax + 1];
  if (yMax === yMin) yMax = yMin + 1;
  yMax += (yMax - yMin) * 0.05;
  const formatX = options.formatX ?? compactNumber;
  const formatY = options.formatY ?? compactNumber;
  const sx = (x: number) => margin.left + ((x - xMin) / (xMax - xMin)) * plotWidth;
  const sy = (y: number) => margin.top + plotHeight - ((y - yMin) / (yMax - yMin)) * plotHeight;
  const parts: string[] = [];
  parts.push(
    `<svg class="chart" data-chart="${escapeXml(options.id)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(options.title)}">`,
    `<defs><clipPath id="plot-${escapeXml(options.id)}"><rect x="${margin.left}" y="${margin.top}" width="${plotWidth}" height="${plotHeight}"/></clipPath></defs>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="600">${escapeXml(options.title)}</text>`,
  );
  for (const tick of niceTicks(yMin, yMax)) {
    const y = sy(tick).toFixed(1);
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${y}" y2="${y}" stroke="#e5e7eb"/>`,
      `<text x="${margin.left - 6}" y="${y}" dy="4" text-anchor="end" font-size="11" fill="#374151">${escapeXml(formatY(tick))}</text>`,
    );
  }
  for (const tick of niceTicks(xMin, xMax)) {
    const x = sx(tick).toFixed(1);
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${margin.top + plotHeight}" y2="${margin.top + plotHeight + 4}" stroke="#6b7280"/>`,
      `<text x="${x}" y="${margin.top + plotHeight + 16}" text-anchor="middle" font-size="11" fill="#374151">${escapeXml(formatX(tick))}</text>`,
    );
  }
  parts.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#9ca3af"/>`,
    `<text x="${margin.left + plotWidth / 2}" y="${height - 8}" text-anchor="middle" font-size="12">${escapeXml(options.xLabel)}</text>`,
    `<text transform="translate(14 ${margin.top + plotHeight / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(options.yLabel)}</text>`,
  );
  for (const mark of options.yMarks ?? []) {
    const y = sy(mark.y).toFixed(1);
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${y}" y2="${y}" stroke="#111827" stroke-dasharray="6 4"/>`,
      `<text x="${margin.left + plotWidth - 4}" y="${y}" dy="-4" text-anchor="end" font-size="11">${escapeXml(mark.label)}</text>`,
    );
  }
  for (const mark of options.xMarks ?? []) {
    const x = sx(mark.x).toFixed(1);
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${margin.top}" y2="${margin.top + plotHeight}" stroke="#111827" stroke-dasharray="3 3"/>`,
      `<text x="${x}" y="${margin.top + 12}" dx="4" font-size="11">${escapeXml(mark.label)}</text>`,
    );
  }
  options.series.forEach((series, index) => {
    const color = PALETTE[index % PALETTE.length] ?? '#000';
    const points = series.points.filter((point) => Number.isFinite(point[0]) && Number.isFinite(point[1]));
    if (points.length === 0) return;
    let path = '';
    points.forEach(([x, y], pointIndex) => {
      const px = sx(x).toFixed(1);
      const py = sy(y).toFixed(1);
      if (pointIndex === 0) path += `M${px},${py}`;
      else if (series.step) path += `H${px}V${py}`;
      else path += `L${px},${py}`;
    });
    parts.push(
      `<path class="series" data-series="${escapeXml(series.name)}" d="${path}" fill="none" stroke="${color}" stroke-width="2" clip-path="url(#plot-${escapeXml(options.id)})"${series.dashed ? ' stroke-dasharray="6 3"' : ''}/>`,
    );
    if (series.markers || points.length === 1) {
      for (const [x, y] of points)
        parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3.5" fill="${color}"/>`);
    }
    const place = legendRows[index] ?? { x: 64, row: 0 };
    const legendY = 40 + place.row * 16;
    parts.push(
      `<line x1="${place.x}" x2="${place.x + 18}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${color}" stroke-width="3"${series.dashed ? ' stroke-dasharray="6 3"' : ''}/>`,
      `<text x="${place.x + 22}" y="${legendY}" font-size="11">${escapeXml(series.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

/** A standalone SVG file (with the XML prolog) from a chart string. */
export function svgDocument(chart: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${chart}\n`;
}
