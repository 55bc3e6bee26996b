import { Blockwise } from "@zask/graph";
import type { Array } from "./array.js";

/**
 * `a`'s top layer when `a` is a zarr read as {@link fromZarr} builds it (a Blockwise decode
 * layer over a fetch layer, one fetch per chunk or per inner chunk of a shard), else
 * `undefined`, with the name of that fetch layer. Builders that can do better than "decode
 * the chunk, then work on it" (a few rows of a chunk, a sparse selection) read the fetches.
 */
export function zarrRead(a: Array): { decode: Blockwise; fetch: string } | undefined {
  const layer = a.graph.layers.get(a.name);
  if (!(layer instanceof Blockwise) || typeof layer.op === "function" || layer.op.name !== "decodeChunk") return undefined;
  const deps = a.graph.dependencies.get(a.name);
  if (deps === undefined || deps.size !== 1) return undefined;
  return { decode: layer, fetch: [...deps][0]! };
}
