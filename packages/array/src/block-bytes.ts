import type { Layer } from "@zask/graph";
import type { Chunks } from "./chunks.js";
import { itemsize, type DataType } from "./dtype.js";

/** The bytes of the value of block `index` of a layer, or `undefined` when not known before it runs. */
export type BlockBytes = (index: readonly number[]) => number | undefined;

// keyed by layer object: graphs share their layers (withLayer, merge), and nothing keeps a layer alive here
const registry = new WeakMap<Layer, BlockBytes>();

/**
 * State what each block of `layer` will hold, for the plan's task memory: the array builders
 * call it for every layer they make ({@link makeArray} for an array's top layer, reductions for
 * their partial results). The first statement about a layer wins.
 */
export function recordBlockBytes(layer: Layer | undefined, bytes: BlockBytes): void {
  if (layer !== undefined && !registry.has(layer)) registry.set(layer, bytes);
}

/** What {@link recordBlockBytes} says of `layer`. */
export function blockBytesOf(layer: Layer): BlockBytes | undefined {
  return registry.get(layer);
}

/**
 * Bytes of a dense block of `chunks` and `dtype`: its elements times the itemsize (unknown
 * for strings, whose size depends on their text).
 */
export function denseBlockBytes(chunks: Chunks, dtype: DataType): BlockBytes {
  if (dtype === "string") return () => undefined;
  const size = itemsize(dtype);
  return (index) => {
    let n = size;
    for (let d = 0; d < chunks.length; d++) n *= chunks[d]![index[d]!] ?? Number.NaN;
    return Number.isFinite(n) ? n : undefined;
  };
}
