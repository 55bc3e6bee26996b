// Read a 1-d string array's values as PackedStrings: the same graph as its compute (fetches,
// plan, errors, HTTP options), with the decode op swapped for the one that keeps the strings
// packed, so that none is made until they are asked for.
import { Blockwise, Graph, op } from "@zask/graph";
import { Array } from "./array.js";
import type { ComputeOptions } from "./compute.js";
import { PackedStrings } from "./packed-strings.js";
import { zarrRead } from "./zarr-layers.js";

const decodePackedOp = op("@zask/array/ops", "decodeStringsPacked", { lane: "inline" });

/**
 * The array whose `compute()` gives the values of `x`, a 1-d string array straight from
 * {@link fromZarr}, as {@link PackedStrings} in `data` (each chunk decoded on the main thread);
 * `undefined` when `x` is not such an array. Its top layer has a name of its own, so that it
 * can be computed beside `x` (`computeArrays`).
 */
export function packedStringsArray(x: Array): Array | undefined {
  if (x.dtype !== "string" || x.ndim !== 1) return undefined;
  const layer = zarrRead(x)?.decode;
  if (layer === undefined) return undefined;
  const name = `packed-${layer.name}`;
  const packed = new Blockwise({
    name,
    outIndex: layer.outIndex,
    numBlocks: layer.numBlocks,
    op: decodePackedOp,
    args: layer.args,
    annotations: layer.annotations,
  });
  const layers = new Map(x.graph.layers);
  layers.delete(layer.name);
  const dependencies = new Map(x.graph.dependencies);
  dependencies.set(name, dependencies.get(layer.name) ?? new Set());
  dependencies.delete(layer.name);
  return new Array(new Graph(layers.set(name, packed), dependencies), name, x.chunks, "string");
}

/** The strings computed by an array of {@link packedStringsArray}. */
export function asPackedStrings(data: unknown): PackedStrings {
  if (data instanceof PackedStrings) return data;
  // an empty array has no block to decode: its assembly is an empty list
  if (globalThis.Array.isArray(data) && data.length === 0) return PackedStrings.of([]);
  throw new TypeError(`Expected packed strings, got ${Object.prototype.toString.call(data)}`);
}

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
  const packed = packedStringsArray(x);
  if (packed === undefined) return undefined;
  return asPackedStrings((await packed.compute(options)).data);
}
