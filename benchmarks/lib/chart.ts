/**
 * A hand-written SVG line chart of requests and milliseconds against chunk width, one line per
 * query and reader (zask solid, dask dashed), both axes logarithmic. No dependency: the chart is
 * two panels of polylines, which is less code than configuring a charting library.
 */
import { QUERIES, QUERY_LABELS } from "./results.ts";
import type { QueryName, Reader, Results } from "./results.ts";

const COLORS: Readonly<Record<QueryName, string>> = {
  open: "#7f7f7f",
  one_gene: "#1f77b4",
  genes_n_cells_gt_1000: "#ff7f0e",
  rows_0_100: "#2ca02c",
  one_cell: "#9467bd",
  mean_per_gene: "#d62728",
};

const PANEL = { width: 420, height: 300, left: 64, right: 16, top: 40, bottom: 48 } as const;

interface Series {
  query: QueryName;
  reader: Reader;
  points: { x: number; y: number }[];
}

/**
 * Renders the chart for `results` (column-chunked stores only: the row-chunked store has no
 * width). Returns the SVG text.
 *
 * @example
 * ```ts
 * await writeFile("benchmarks/results/latest.svg", renderChart(results));
 * ```
 */
export function renderChart(results: Results): string {
  const byWidth = results.chunkings.filter((c) => c.width !== undefined).sort((a, b) => (a.width ?? 0) - (b.width ?? 0));
  const series = (metric: "requests" | "medianMs"): Series[] => {
    const out: Series[] = [];
    for (const reader of ["dask", "zask"] as const) {
      for (const query of QUERIES) {
        const points = byWidth.flatMap((c) => {
          const figures = c.queries[query]?.[reader];
          const y = figures?.[metric];
          return y === undefined || !(y > 0) ? [] : [{ x: c.width as number, y }];
        });
        if (points.length > 0) out.push({ query, reader, points });
      }
    }
    return out;
  };
  const widths = byWidth.map((c) => c.width as number);
  const totalWidth = PANEL.width * 2 + 200;
  const totalHeight = PANEL.height + 40;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${totalWidth}" height="${totalHeight}" viewBox="0 0 ${totalWidth} ${totalHeight}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="8" y="16" font-size="13" font-weight="bold">${escape(`Requests and time per query vs chunk width (X ${results.store.shape.join(" × ")}, served by ${results.server})`)}</text>`,
    `<text x="8" y="${totalHeight - 6}" fill="#555">${escape(results.machineLine)} · ${escape(results.date.slice(0, 10))}</text>`,
    panel(series("requests"), widths, "requests per query", 0, 20),
    panel(series("medianMs"), widths, "milliseconds per query (median)", PANEL.width, 20),
    legend(PANEL.width * 2 + 8, 40),
    `</svg>`,
  ];
  return `${parts.join("\n")}\n`;
}

function panel(series: Series[], widths: number[], title: string, dx: number, dy: number): string {
  const plotW = PANEL.width - PANEL.left - PANEL.right;
  const plotH = PANEL.height - PANEL.top - PANEL.bottom;
  const ys = series.flatMap((s) => s.points.map((p) => p.y));
  const [xMin, xMax] = [Math.min(...widths, 1), Math.max(...widths, 2)];
  const [yMin, yMax] = ys.length === 0 ? [1, 10] : [10 ** Math.floor(Math.log10(Math.min(...ys))), 10 ** Math.ceil(Math.log10(Math.max(...ys)))];
  const sx = (x: number): number => PANEL.left + ((Math.log10(x) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin) || 1)) * plotW;
  const sy = (y: number): number => PANEL.top + plotH - ((Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin) || 1)) * plotH;
  const out = [`<g transform="translate(${dx},${dy})">`, `<text x="${PANEL.left}" y="${PANEL.top - 10}" font-weight="bold">${escape(title)}</text>`];
  out.push(`<rect x="${PANEL.left}" y="${PANEL.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  for (let e = Math.log10(yMin); e <= Math.log10(yMax) + 1e-9; e++) {
    const y = sy(10 ** e).toFixed(1);
    out.push(`<line x1="${PANEL.left}" x2="${PANEL.left + plotW}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    out.push(`<text x="${PANEL.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${formatTick(10 ** e)}</text>`);
  }
  for (const w of widths) {
    const x = sx(w).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${PANEL.top}" y2="${PANEL.top + plotH}" stroke="#eee"/>`);
    out.push(`<text x="${x}" y="${PANEL.top + plotH + 14}" text-anchor="middle">${w}</text>`);
  }
  out.push(`<text x="${PANEL.left + plotW / 2}" y="${PANEL.top + plotH + 32}" text-anchor="middle">genes per chunk (chunks = [nObs, width])</text>`);
  for (const s of series) {
    const points = s.points.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(" ");
    const dash = s.reader === "dask" ? ` stroke-dasharray="5,3"` : "";
    out.push(`<polyline points="${points}" fill="none" stroke="${COLORS[s.query]}" stroke-width="1.8"${dash}/>`);
    for (const p of s.points) {
      out.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="2.5" fill="${COLORS[s.query]}"/>`);
    }
  }
  out.push(`</g>`);
  return out.join("\n");
}

function legend(x: number, y: number): string {
  const rows = QUERIES.map(
    (q, i) =>
      `<line x1="${x}" x2="${x + 22}" y1="${y + i * 18}" y2="${y + i * 18}" stroke="${COLORS[q]}" stroke-width="2"/><text x="${x + 28}" y="${y + i * 18}" dominant-baseline="middle">${escape(QUERY_LABELS[q])}</text>`,
  );
  const base = y + QUERIES.length * 18 + 10;
  rows.push(
    `<line x1="${x}" x2="${x + 22}" y1="${base}" y2="${base}" stroke="#333" stroke-width="2"/><text x="${x + 28}" y="${base}" dominant-baseline="middle">zask</text>`,
  );
  rows.push(
    `<line x1="${x}" x2="${x + 22}" y1="${base + 18}" y2="${base + 18}" stroke="#333" stroke-width="2" stroke-dasharray="5,3"/><text x="${x + 28}" y="${base + 18}" dominant-baseline="middle">dask 2022.12 (Python peer)</text>`,
  );
  return rows.join("\n");
}

function formatTick(v: number): string {
  return v >= 1000 ? `${v / 1000}k` : String(v);
}

function escape(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] as string);
}
