import { writeFile } from "node:fs/promises";
import { extname } from "node:path";
import { cull, fuse, toDot } from "@zask/graph";
import type { Array } from "./array.js";

/** Formats {@link visualizeArray} draws in: `png` needs the optional peer `@resvg/resvg-js`. */
export type VisualizeFormat = "svg" | "png" | "dot";

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
  /** Write the picture to this file too, in `format` if given, else in the one its extension (`.svg`, `.png`, `.dot`) names. */
  readonly filename?: string;
  /** What to return (and write, when given): SVG text, PNG bytes, or the DOT source. @default "svg" */
  readonly format?: VisualizeFormat;
  /** Draw the graph `compute()` would run: culled to the array's blocks and fused. @default true */
  readonly optimize?: boolean;
  /** Refuse graphs with more nodes than this, as Graphviz lays them out uselessly. @default 10000 */
  readonly maxNodes?: number;
}

const FORMATS: readonly string[] = ["svg", "png", "dot"];

function checkFormat(format: unknown, what: string): VisualizeFormat {
  if (typeof format !== "string" || !FORMATS.includes(format)) throw new RangeError(`Expected ${what} to be one of svg, png, dot, got \`${String(format)}\``);
  return format as VisualizeFormat;
}

/** SVG text as PNG bytes, with the system's fonts, by the optional peer `@resvg/resvg-js`. */
async function toPng(svg: string): Promise<Uint8Array> {
  let resvg: typeof import("@resvg/resvg-js");
  try {
    resvg = await import("@resvg/resvg-js");
  } catch (cause) {
    throw new Error("Expected the optional package @resvg/resvg-js to render PNG (npm install @resvg/resvg-js), or ask for format svg", { cause });
  }
  return new Uint8Array(new resvg.Resvg(svg, { background: "white" }).render().asPng());
}

/**
 * The array's task graph drawn by Graphviz's WebAssembly build (@viz-js/viz), in `format`:
 * SVG text (the default), PNG bytes, or the DOT source. With `filename`, the picture is also
 * written there, in `format` if given, else in the format its extension names.
 */
export async function visualizeArray(x: Array, options: VisualizeOptions = {}): Promise<string | Uint8Array> {
  const format = options.format === undefined ? "svg" : checkFormat(options.format, "`format`");
  const fileFormat =
    options.filename === undefined
      ? undefined
      : options.format !== undefined
        ? format
        : checkFormat(extname(options.filename).slice(1).toLowerCase(), "the extension of `filename`");
  const keys = x.keys();
  const graph = options.optimize === false ? x.graph : fuse(cull(x.graph, keys), keys);
  const dot = toDot(graph, { maxNodes: options.maxNodes ?? 10_000 });
  const drawn = new Map<VisualizeFormat, string | Uint8Array>([["dot", dot]]);
  const draw = async (f: VisualizeFormat): Promise<string | Uint8Array> => {
    let out = drawn.get(f);
    if (out === undefined) {
      if (!drawn.has("svg")) {
        const { instance } = await import("@viz-js/viz");
        drawn.set("svg", (await instance()).renderString(dot, { format: "svg" }));
      }
      if (f === "png") drawn.set("png", await toPng(drawn.get("svg") as string));
      out = drawn.get(f)!;
    }
    return out;
  };
  if (options.filename !== undefined && fileFormat !== undefined) await writeFile(options.filename, await draw(fileFormat));
  return draw(format);
}
