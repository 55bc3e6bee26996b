import { namesLayer, type Key } from "./key.js";
import { compactIds } from "./node-positions.js";
import type { CullResult, Layer } from "./layer.js";
import { nodeId, type GraphNode } from "./spec.js";

/**
 * A layer that is a plain key → node map (dask's MaterializedLayer).
 *
 * @example
 * ```ts
 * const layer = new MaterializedLayer("total", [new Task("total", sum, [[ref("a"), ref("b")]])]);
 * ```
 */
export class MaterializedLayer implements Layer {
  readonly name: string;
  readonly annotations: Readonly<Record<string, unknown>>;
  readonly #nodes: Map<Key, GraphNode>;
  #foreign: Key[] | undefined;
  /** The range of the nodes' serial numbers, when compact and one per key (null: not). */
  #ids: { lo: number; span: number } | null | undefined;
  /** Outside keys that the nodes read, once known. */
  #external: ReadonlySet<Key> | undefined;

  constructor(name: string, nodes: Iterable<GraphNode> | Map<Key, GraphNode>, annotations: Record<string, unknown> = {}) {
    this.name = name;
    this.annotations = annotations;
    if (nodes instanceof Map) {
      this.#nodes = nodes;
    } else {
      this.#nodes = new Map();
      for (const n of nodes) this.#nodes.set(n.key, n);
    }
  }

  /**
   * A layer of `name`'s block keys only, such as what a Blockwise layer materializes to: its
   * {@link foreignKeys} are known to be none.
   */
  static ofBlocks(name: string, nodes: Map<Key, GraphNode>, annotations: Record<string, unknown> = {}): MaterializedLayer {
    const layer = new MaterializedLayer(name, nodes, annotations);
    layer.#foreign = [];
    return layer;
  }

  get size(): number {
    return this.#nodes.size;
  }

  has(key: Key): boolean {
    return this.#nodes.has(key);
  }

  get(key: Key): GraphNode | undefined {
    return this.#nodes.get(key);
  }

  keys(): Iterable<Key> {
    return this.#nodes.keys();
  }

  /**
   * The keys that do not carry this layer's name (`keyName(key) !== name`), found once: only
   * these can be keys of another layer too.
   */
  get foreignKeys(): readonly Key[] {
    if (this.#foreign === undefined) {
      const name = this.name;
      this.#foreign = [];
      for (const k of this.#nodes.keys()) if (!namesLayer(k, name)) this.#foreign.push(k);
    }
    return this.#foreign;
  }

  cull(keys: Iterable<Key>): CullResult {
    // every key asked for (a reduction's level reads all of the one below): the whole layer and
    // its outside dependencies, found once per layer
    if (this.#coversAll(keys)) return { layer: this, dependencies: (this.#external ??= this.#externalDependencies()) };
    const kept = new Map<Key, GraphNode>();
    const deps = new Set<Key>();
    const stack = [...keys];
    while (stack.length > 0) {
      const k = stack.pop()!;
      if (kept.has(k)) continue;
      const node = this.#nodes.get(k);
      if (node === undefined) continue;
      kept.set(k, node);
      for (const d of node.dependencies) {
        if (this.#nodes.has(d)) stack.push(d);
        else deps.add(d);
      }
    }
    const layer = kept.size === this.#nodes.size ? this : new MaterializedLayer(this.name, kept, { ...this.annotations });
    return { layer, dependencies: deps };
  }

  /** Whether `keys` name every node (counted by serial number, without a set of keys). */
  #coversAll(keys: Iterable<Key>): boolean {
    const nodes = this.#nodes;
    if (!Array.isArray(keys) || keys.length < nodes.size) return false;
    if (this.#ids === undefined) {
      this.#ids = compactIds([...nodes.values()]);
      // one node under two keys would count once
      if (this.#ids !== null && !this.#countsDistinct(nodes.keys(), nodes.size)) this.#ids = null;
    }
    return this.#ids !== null && this.#countsDistinct(keys as Key[], nodes.size);
  }

  /** Whether the nodes of `keys` (those in this layer) number `expected` distinct ones. */
  #countsDistinct(keys: Iterable<Key>, expected: number): boolean {
    const { lo, span } = this.#ids!;
    const seen = new Uint8Array(span);
    let count = 0;
    for (const k of keys) {
      const node = this.#nodes.get(k);
      if (node === undefined) continue;
      const slot = node[nodeId] - lo;
      if (seen[slot] === 0) {
        seen[slot] = 1;
        count++;
      }
    }
    return count === expected;
  }

  #externalDependencies(): ReadonlySet<Key> {
    const deps = new Set<Key>();
    for (const node of this.#nodes.values()) for (const d of node.dependencies) if (!this.#nodes.has(d)) deps.add(d);
    return deps;
  }

  materialize(): Map<Key, GraphNode> {
    return this.#nodes;
  }
}
