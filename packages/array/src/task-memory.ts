import { cull, fuse, parseKey, type Graph, type Key } from "@zask/graph";
import { projectTaskMemory, type MemoryPlan, type OutputBytes } from "@zask/scheduler";
import type { Array } from "./array.js";
import { blockBytesOf, type BlockBytes } from "./block-bytes.js";
import type { ZarrLayerInfo } from "./plan.js";
import { shardedLayers } from "./read-sessions.js";

/**
 * The bytes of each key's value in `graph` as its layers state them: fetch layers their
 * chunks' bytes (a compressed chunk is counted at its uncompressed size, which bounds it but
 * for incompressible data), array layers their blocks' shapes times the itemsize, reductions
 * their partial results; `final` names the keys whose sizes are given (an assembly task's).
 * Give it the graph before cull: layers are known by the objects the builders made.
 */
export function outputBytesOf(graph: Graph, final: ReadonlyMap<Key, number | undefined> = new Map()): OutputBytes {
  const perLayer = new Map<string, BlockBytes>();
  for (const [name, layer] of graph.layers) {
    const info = layer.annotations["zarr"] as ZarrLayerInfo | undefined;
    const b = info !== undefined ? () => info.chunkBytes : blockBytesOf(layer);
    if (b !== undefined) perLayer.set(name, b);
  }
  for (const [layer, reader] of shardedLayers(graph)) perLayer.set(layer.name, () => reader.innerBytes);
  return (key) => {
    if (final.has(key)) return final.get(key);
    const [name, ...index] = parseKey(key);
    return perLayer.get(name as string)?.(index as number[]);
  };
}

/** The bytes of `x` assembled into one array (unknown for strings). */
export function wholeBytes(x: Array): number | undefined {
  return x.dtype === "string" ? undefined : x.nbytes;
}

/**
 * The task memory of computing `keys` of `graph`, culled, and fused unless `fused` is false, as
 * the compute will run it; `final` gives the sizes of keys no layer states (an assembly's).
 */
export function graphTaskMemory(graph: Graph, keys: readonly Key[], fused: boolean, final?: ReadonlyMap<Key, number | undefined>): MemoryPlan {
  let g = cull(graph, keys);
  if (fused) g = fuse(g, keys);
  return projectTaskMemory(g.materialize(), outputBytesOf(graph, final));
}
