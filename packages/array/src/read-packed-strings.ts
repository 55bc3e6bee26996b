// Read a 1-d string array's values as PackedStrings: the same graph as its compute (fetches,
// plan, errors, HTTP options), with the decode op swapped for the one that keeps the strings
// packed, so that none is made until they are asked for.
import { Blockwise, Graph, op } from "@zask/graph";
import type { ComputeOptions } from "./compute.js";
import { Array } from "./array.js";
import { PackedStrings } from "./packed-strings.js";

const decodePackedOp = op("@zask/array/ops", "decodeStringsPacked", { lane: "inline" });

/**
 * The values of `x`, a 1-d string array straight from {@link fromZarr}, as {@link PackedStrings}:
 * read and checked like `x.compute(options)`, each chunk on the main thread, but no string made.
 * `undefined` (nothing read) when `x` is not such an array; compute it then.
 *
 * @example
 * ```ts
 * const names = (await readPackedStrings(await fromZarr(url, { path: "obs/_index" }))) ?? [];
 * names.length; // the number of rows, before any name is made
 * ```
 */
export async function readPackedStrings(x: Array, options: ComputeOptions = {}): Promise<PackedStrings | undefined> {
  if (x.dtype !== "string" || x.ndim !== 1) return undefined;
  if (x.shape[0] === 0) return PackedStrings.of([]);
  const layer = x.graph.layers.get(x.name);
  if (!(layer instanceof Blockwise) || typeof layer.op === "function" || layer.op.name !== "decodeChunk") return undefined;
  const packed = new Blockwise({
    name: layer.name,
    outIndex: layer.outIndex,
    numBlocks: layer.numBlocks,
    op: decodePackedOp,
    args: layer.args,
    annotations: layer.annotations,
  });
  const graph = new Graph(new Map(x.graph.layers).set(layer.name, packed), x.graph.dependencies);
  const { data } = await new Array(graph, x.name, x.chunks, "string").compute(options);
  if (!((data as unknown) instanceof PackedStrings)) throw new TypeError(`Expected ${x.name} to compute to packed strings`);
  return data as unknown as PackedStrings;
}
