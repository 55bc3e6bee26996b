import { writeFile } from "node:fs/promises";
import { extname } from "node:path";
import { cull, fuse, toDot } from "@zask/graph";
import type { Array } from "./array.js";

/** Formats {@link visualizeArray} draws in. */
export type VisualizeFormat = "svg" | "dot";

/**
 * Options of `Array.visualize()`, dask's `visualize(filename=…, optimize_graph=…)`.
 *
 * @example
 * ```ts
 * import { ones } from "@zask/array";
 * const x = ones([100, 100], { chunks: 50 });
 * const svg = await x.sum().visualize({ filename: "sum.svg" });
 * const dot = await x.sum().visualize({ format: "dot", optimize: false });
 * ```
 */
export interface VisualizeOptions {
  /** Write the picture to this file too; its extension (`.svg`, `.dot`) sets the format unless `format` does. */
  readonly filename?: string;
  /** @default the filename's extension, else `"svg"` */
  readonly format?: VisualizeFormat;
  /** Draw the graph `compute()` would run: culled to the array's blocks and fused. @default true */
  readonly optimize?: boolean;
  /** Refuse graphs with more nodes than this, as Graphviz lays them out uselessly. @default 10000 */
  readonly maxNodes?: number;
}

const FORMATS: readonly string[] = ["svg", "dot"];

function formatOf(options: VisualizeOptions): VisualizeFormat {
  if (options.format !== undefined) {
    if (!FORMATS.includes(options.format)) throw new RangeError(`Expected \`format\` to be one of ${FORMATS.join(", ")}, got \`${String(options.format)}\``);
    return options.format;
  }
  if (options.filename === undefined) return "svg";
  const ext = extname(options.filename).slice(1).toLowerCase();
  if (!FORMATS.includes(ext)) throw new RangeError(`Expected \`filename\` to end in .svg or .dot, got \`${options.filename}\``);
  return ext as VisualizeFormat;
}

/**
 * The array's task graph drawn by Graphviz's WebAssembly build (@viz-js/viz): SVG text, or the
 * DOT source; written to `filename` too when given.
 */
export async function visualizeArray(x: Array, options: VisualizeOptions = {}): Promise<string> {
  const format = formatOf(options);
  const keys = x.keys();
  const graph = options.optimize === false ? x.graph : fuse(cull(x.graph, keys), keys);
  const dot = toDot(graph, { maxNodes: options.maxNodes ?? 10_000 });
  let out = dot;
  if (format === "svg") {
    const { instance } = await import("@viz-js/viz");
    out = (await instance()).renderString(dot, { format: "svg" });
  }
  if (options.filename !== undefined) await writeFile(options.filename, out);
  return out;
}
