import type { Key } from "./key.js";
import type { GraphNode } from "./spec.js";

/** What {@link Layer.cull} returns. */
export interface CullResult {
  /** The layer restricted to the requested keys (the same layer when nothing was dropped). */
  readonly layer: Layer;
  /** Keys of other layers that the kept tasks depend on. */
  readonly dependencies: ReadonlySet<Key>;
}

/**
 * One layer of a {@link Graph}: the tasks one operation adds (dask's high-level graph
 * layer). A layer may be symbolic (Blockwise) and produce its tasks only on `materialize`.
 *
 * @example
 * ```ts
 * const { layer, dependencies } = graph.layers.get(name)!.cull([blockKey(name, [0])]);
 * layer.size; // 1
 * ```
 */
export interface Layer {
  /** The layer's name; for a collection's top layer, the collection's name. */
  readonly name: string;
  /** How many tasks it holds (without materializing). */
  readonly size: number;
  /** Free-form facts for passes and schedulers (dask's layer annotations). */
  readonly annotations: Readonly<Record<string, unknown>>;
  /** Whether `key` is an output key of this layer. */
  has(key: Key): boolean;
  /** The output keys of this layer. */
  keys(): Iterable<Key>;
  /** Restrict the layer to the tasks needed for `keys` (all of which are its own keys). */
  cull(keys: Iterable<Key>): CullResult;
  /** Every task of the layer as a plain map. */
  materialize(): Map<Key, GraphNode>;
  /** Add every task of the layer to `out` (saves a copy when merging layers). Optional. */
  materializeInto?(out: Map<Key, GraphNode>): void;
  /**
   * The tasks of {@link materialize} as two lists in its order, without a map: a pass that
   * numbers the nodes (fuse) finds a key's place with {@link positionOf} instead. Optional
   * (Blockwise layers, whose keys name their place).
   */
  materializeLists?(): MaterializedLists;
  /** The place of `key` in {@link materializeLists}' order, -1 when it is not a task of this layer. */
  positionOf?(key: Key): number;
}

/** A layer's tasks as lists (see {@link Layer.materializeLists}). */
export interface MaterializedLists {
  readonly keys: Key[];
  readonly nodes: GraphNode[];
}
