/** One named series of (x, y) points for a chart. */
export interface Series {
  name: string;
  points: [number, number][];
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

function escapeXml(s: string): string {
  return s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );
}

function niceTicks(min: number, max: number, count = 5): number[] {
  if (min === max) return [min];
  const span = max - min;
  const step0 = span / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => span / s <= count) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step)
    ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function fmt(v: number): string {
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(1) : String(Number(v.toPrecision(4)));
}

/**
 * A line chart as a standalone SVG string, written by hand (no dependency): axes with ticks, one
 * polyline per series, a legend. Non-finite y values are dropped.
 *
 * ```ts
 * lineChartSvg('loss', [{ name: 'train', points: [[1, 2.3], [2, 1.9]] }]);
 * ```
 */
export function lineChartSvg(title: string, series: Series[], width = 640, height = 360): string {
  const clean = series.map((s) => ({
    ...s,
    points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)),
  }));
  const all = clean.flatMap((s) => s.points);
  const m = { left: 60, right: 20, top: 36, bottom: 40 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
  ];
  if (all.length === 0) {
    parts.push(`<text x="${width / 2}" y="${height / 2}" text-anchor="middle">no data</text>`, '</svg>');
    return parts.join('\n');
  }
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0)) * w;
  const sy = (y: number) => m.top + h - ((y - y0) / (y1 - y0)) * h;
  parts.push(
    `<line x1="${m.left}" y1="${m.top + h}" x2="${m.left + w}" y2="${m.top + h}" stroke="black"/>`,
    `<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + h}" stroke="black"/>`,
  );
  for (const t of niceTicks(x0, x1)) {
    const x = sx(t).toFixed(1);
    parts.push(
      `<line x1="${x}" y1="${m.top + h}" x2="${x}" y2="${m.top + h + 4}" stroke="black"/>`,
      `<text x="${x}" y="${m.top + h + 16}" text-anchor="middle">${fmt(t)}</text>`,
    );
  }
  for (const t of niceTicks(y0, y1)) {
    const y = sy(t).toFixed(1);
    parts.push(
      `<line x1="${m.left - 4}" y1="${y}" x2="${m.left + w}" y2="${y}" stroke="#ddd"/>`,
      `<text x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(t)}</text>`,
    );
  }
  parts.push(`<text x="${m.left + w / 2}" y="${height - 6}" text-anchor="middle">step</text>`);
  clean.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const pts = s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    if (s.points.length > 1)
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts}"/>`);
    else if (s.points.length === 1)
      parts.push(`<circle cx="${pts.split(',')[0]}" cy="${pts.split(',')[1]}" r="3" fill="${color}"/>`);
    const ly = m.top + 4 + i * 14;
    parts.push(
      `<line x1="${m.left + w - 110}" y1="${ly}" x2="${m.left + w - 92}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${m.left + w - 88}" y="${ly}" dominant-baseline="middle">${escapeXml(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/**
 * An HTML page embedding charts (inline SVG) and a summary table.
 *
 * ```ts
 * reportHtml('run 7', [lineChartSvg('loss', series)], { steps: 1000, 'best eval loss': 0.42 });
 * ```
 */
export function reportHtml(
  title: string,
  charts: string[],
  summary: Record<string, string | number>,
): string {
  const rows = Object.entries(summary)
    .map(([k, v]) => `<tr><th>${escapeXml(k)}</th><td>${escapeXml(String(v))}</td></tr>`)
    .join('\n');
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeXml(title)}</title>`,
    '<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}</style>',
    '</head><body>',
    `<h1>${escapeXml(title)}</h1>`,
    `<table>${rows}</table>`,
    ...charts.map((c) => `<figure>${c}</figure>`),
    '</body></html>',
  ].join('\n');
}
