import { fuseBlockwise } from "./fuse-blockwise.js";
import { fuseLinear } from "./fuse-linear.js";
import type { Graph } from "./graph.js";
import type { Key } from "./key.js";

/**
 * Options of {@link fuse}.
 *
 * @example
 * ```ts
 * fuse(graph, keys, { linear: false }); // blockwise fusion only
 * ```
 */
export interface FuseOptions {
  /** Merge adjacent Blockwise layers first. @default true */
  readonly blockwise?: boolean;
  /** Then fuse linear chains of tasks into `Fused` nodes. @default true */
  readonly linear?: boolean;
}

/**
 * Fewer, bigger tasks for the same results: blockwise fusion of adjacent Blockwise layers
 * (see {@link fuseBlockwise}), then linear-chain fusion (see {@link fuseLinear}). A requested
 * key is never fused away, and nothing is fused across a reduction's many-to-one step. The
 * fused tasks are {@link Fused} nodes whose steps keep their own ops, so a scheduler can still
 * run `io` steps on the main thread and `cpu` steps on a worker.
 *
 * @example
 * ```ts
 * const keys = [blockKey(y.name, [0]), blockKey(y.name, [1])];
 * const g = fuse(cull(y.graph, keys), keys);
 * ```
 */
export function fuse(graph: Graph, keys: Iterable<Key>, options: FuseOptions = {}): Graph {
  const wanted = Array.isArray(keys) ? (keys as Key[]) : [...keys];
  let g = graph;
  if (options.blockwise ?? true) g = fuseBlockwise(g, wanted);
  if (options.linear ?? true) g = fuseLinear(g, wanted);
  return g;
}
