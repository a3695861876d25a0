// A small SVG line chart writer (no chart dependency): log-scaled axes, one polyline per series,
// optional vertical reference lines, a legend. Enough for "latency against offered load".
export interface ChartPoint {
  x: number;
  y: number;
  /** Drawn hollow: e.g. a step where the system no longer kept up. */
  hollow?: boolean;
}

export interface ChartSeries {
  name: string;
  color: string;
  dashed?: boolean;
  points: ChartPoint[];
}

export interface ChartMarker {
  x: number;
  label: string;
  color: string;
}

export interface ChartSpec {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  markers?: ChartMarker[];
  width?: number;
  height?: number;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const fmt = (n: number) => (Math.abs(n) >= 1000 ? `${+(n / 1000).toFixed(1)}k` : `${+n.toPrecision(3)}`);

/** The nearest 1, 2 or 5 × 10^k at or beyond v: axis bounds that land on a tick. */
function nice(v: number, direction: "up" | "down"): number {
  const e = Math.floor(Math.log10(v));
  const steps = [1, 2, 5, 10].map((m) => m * 10 ** e);
  return direction === "up" ? steps.find((s) => s >= v * 0.999)! : [...steps].reverse().find((s) => s <= v * 1.001) ?? 10 ** e;
}

/** Decade ticks (1, 2, 5 × 10^k) covering [min, max]. */
function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= min * 0.999 && v <= max * 1.001) ticks.push(v);
    }
  }
  return ticks;
}

export function renderLineChart(spec: ChartSpec): string {
  const width = spec.width ?? 900;
  const height = spec.height ?? 540;
  const m = { left: 80, right: 230, top: spec.subtitle ? 70 : 50, bottom: 60 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const pts = spec.series.flatMap((s) => s.points).filter((p) => p.x > 0 && p.y > 0);
  const xs = [...pts.map((p) => p.x), ...(spec.markers ?? []).map((k) => k.x)];
  const ys = pts.map((p) => p.y);
  // An empty chart still gets sensible axes.
  if (xs.length === 0) xs.push(10, 100);
  if (ys.length === 0) ys.push(1, 10);
  const xMin = nice(Math.min(...xs), "down");
  const xMax = nice(Math.max(...xs) * 1.05, "up");
  const yMin = nice(Math.min(...ys), "down");
  const yMax = nice(Math.max(...ys) * 1.05, "up");
  const sx = (x: number) => m.left + ((Math.log10(x) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * plotW;
  const sy = (y: number) => m.top + plotH - ((Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * plotH;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${m.left}" y="28" font-size="17" font-weight="bold" fill="#222">${esc(spec.title)}</text>`,
  );
  if (spec.subtitle) out.push(`<text x="${m.left}" y="48" fill="#666">${esc(spec.subtitle)}</text>`);
  for (const t of logTicks(xMin, xMax)) {
    const x = sx(t).toFixed(1);
    out.push(
      `<line x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + plotH}" stroke="#e6e6e6"/>`,
      `<text x="${x}" y="${m.top + plotH + 18}" text-anchor="middle" fill="#444">${fmt(t)}</text>`,
    );
  }
  for (const t of logTicks(yMin, yMax)) {
    const y = sy(t).toFixed(1);
    out.push(
      `<line x1="${m.left}" y1="${y}" x2="${m.left + plotW}" y2="${y}" stroke="#e6e6e6"/>`,
      `<text x="${m.left - 8}" y="${(+y + 4).toFixed(1)}" text-anchor="end" fill="#444">${fmt(t)}</text>`,
    );
  }
  out.push(
    `<rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
    `<text x="${m.left + plotW / 2}" y="${height - 16}" text-anchor="middle" fill="#222">${esc(spec.xLabel)}</text>`,
    `<text transform="translate(22 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#222">${esc(spec.yLabel)}</text>`,
  );
  for (const k of spec.markers ?? []) {
    const x = sx(k.x).toFixed(1);
    out.push(
      `<line x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + plotH}" stroke="${k.color}" stroke-width="1.5" stroke-dasharray="2 4"/>`,
      `<text transform="translate(${(+x - 5).toFixed(1)} ${m.top + 6}) rotate(90)" fill="${k.color}" font-size="11">${esc(k.label)}</text>`,
    );
  }
  for (const s of spec.series) {
    const p = s.points.filter((q) => q.x > 0 && q.y > 0).sort((a, b) => a.x - b.x);
    if (p.length === 0) continue;
    const d = p.map((q) => `${sx(q.x).toFixed(1)},${sy(q.y).toFixed(1)}`).join(" ");
    out.push(
      `<polyline points="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ` stroke-dasharray="6 4"` : ""}/>`,
    );
    for (const q of p) {
      out.push(
        `<circle cx="${sx(q.x).toFixed(1)}" cy="${sy(q.y).toFixed(1)}" r="3.5" fill="${q.hollow ? "#fff" : s.color}" stroke="${s.color}" stroke-width="1.5"/>`,
      );
    }
  }
  const lx = m.left + plotW + 18;
  spec.series.forEach((s, i) => {
    const y = m.top + 10 + i * 22;
    out.push(
      `<line x1="${lx}" y1="${y}" x2="${lx + 28}" y2="${y}" stroke="${s.color}" stroke-width="2"${s.dashed ? ` stroke-dasharray="6 4"` : ""}/>`,
      `<text x="${lx + 36}" y="${y + 4}" fill="#222">${esc(s.name)}</text>`,
    );
  });
  const noteY = m.top + 10 + spec.series.length * 22 + 10;
  out.push(`<circle cx="${lx + 14}" cy="${noteY}" r="3.5" fill="#fff" stroke="#666" stroke-width="1.5"/>`);
  out.push(`<text x="${lx + 36}" y="${noteY + 4}" fill="#666">saturated step</text>`);
  out.push(`</svg>`);
  return out.join("\n");
}
