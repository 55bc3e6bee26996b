import { CycleError, MissingKeyError } from "./errors.js";
import type { Key } from "./key.js";
import type { Layer } from "./layer.js";
import { MaterializedLayer } from "./materialized-layer.js";
import type { GraphNode } from "./spec.js";
import { indexNodes, type IndexedNodes } from "./order.js";

/**
 * Counts that a repr shows ("368 chunks in 2 graph layers").
 *
 * @example
 * ```ts
 * graph.stats(); // { tasks: 368, layers: 2 }
 * ```
 */
export interface GraphStats {
  /** Tasks over all layers, counted without materializing symbolic layers. */
  readonly tasks: number;
  readonly layers: number;
}

/**
 * A layered task graph (dask's HighLevelGraph): named layers plus, for each layer, the
 * names of the layers its tasks depend on. Immutable: every method returns a new graph
 * that shares layers with this one.
 *
 * @example
 * ```ts
 * const g = Graph.fromLayer(new MaterializedLayer("a", [new DataNode("a", 1)]));
 * const h = g.withLayer(new MaterializedLayer("b", [new Task("b", inc, [ref("a")])]), ["a"]);
 * h.stats(); // { tasks: 2, layers: 2 }
 * ```
 */
export class Graph {
  readonly layers: ReadonlyMap<string, Layer>;
  readonly dependencies: ReadonlyMap<string, ReadonlySet<string>>;
  #indexed: IndexedNodes | undefined;

  /**
   * `indexed`: the nodes of `materialize()` already numbered, in its order, by the pass that made
   * this graph (fuse), so that {@link indexed} need not number them again.
   */
  constructor(layers: ReadonlyMap<string, Layer>, dependencies: ReadonlyMap<string, ReadonlySet<string>>, indexed?: IndexedNodes) {
    for (const [name, deps] of dependencies) {
      if (!layers.has(name)) throw new MissingKeyError(name);
      for (const d of deps) if (!layers.has(d)) throw new MissingKeyError(d, name);
    }
    this.layers = layers;
    this.dependencies = dependencies;
    this.#indexed = indexed;
  }

  /**
   * The nodes of {@link materialize} in integer form (see {@link indexNodes}), made once per
   * graph. Throws {@link MissingKeyError} for a dependency no node produces.
   *
   * @example
   * ```ts
   * const { keys, depStart, depList } = fuse(cull(graph, wanted), wanted).indexed();
   * ```
   */
  indexed(): IndexedNodes {
    return (this.#indexed ??= indexNodes(this.materialize()));
  }

  /** An empty graph. */
  static empty(): Graph {
    return new Graph(new Map(), new Map());
  }

  /** A graph of one layer with no layer dependencies. */
  static fromLayer(layer: Layer): Graph {
    return new Graph(new Map([[layer.name, layer]]), new Map([[layer.name, new Set<string>()]]));
  }

  /** A graph of one materialized layer holding `nodes`. */
  static fromNodes(name: string, nodes: Iterable<GraphNode> | Map<Key, GraphNode>): Graph {
    return Graph.fromLayer(new MaterializedLayer(name, nodes));
  }

  /** The union of several graphs (collections that share inputs share their layers). */
  static merge(...graphs: readonly Graph[]): Graph {
    if (graphs.length === 1) return graphs[0]!;
    const layers = new Map<string, Layer>();
    const deps = new Map<string, ReadonlySet<string>>();
    for (const g of graphs) {
      for (const [name, layer] of g.layers) layers.set(name, layer);
      for (const [name, d] of g.dependencies) deps.set(name, d);
    }
    return new Graph(layers, deps);
  }

  /** This graph plus `layer`, whose tasks depend on the layers named in `dependsOn`. */
  withLayer(layer: Layer, dependsOn: Iterable<string> = []): Graph {
    const layers = new Map(this.layers);
    const deps = new Map(this.dependencies);
    layers.set(layer.name, layer);
    deps.set(layer.name, new Set(dependsOn));
    return new Graph(layers, deps);
  }

  /** Task and layer counts. */
  stats(): GraphStats {
    let tasks = 0;
    for (const layer of this.layers.values()) tasks += layer.size;
    return { tasks, layers: this.layers.size };
  }

  /** The layer that produces `key`, if any. */
  layerOf(key: Key): Layer | undefined {
    for (const layer of this.layers.values()) if (layer.has(key)) return layer;
    return undefined;
  }

  /** Layer names, each after every layer it depends on. Throws {@link CycleError} on a cycle. */
  layerOrder(): string[] {
    const out: string[] = [];
    const state = new Map<string, 1 | 2>();
    const visit = (name: string, path: string[]): void => {
      const s = state.get(name);
      if (s === 2) return;
      if (s === 1) throw new CycleError([...path.slice(path.indexOf(name)), name]);
      state.set(name, 1);
      path.push(name);
      for (const d of this.dependencies.get(name) ?? []) visit(d, path);
      path.pop();
      state.set(name, 2);
      out.push(name);
    };
    for (const name of this.layers.keys()) visit(name, []);
    return out;
  }

  /**
   * Every task of every layer in one map. For a graph of one materialized layer this is that
   * layer's own map (no copy of a million entries): treat it as read-only. A graph a pass
   * numbered (fuse) gives the numbered nodes, so a Blockwise layer it kept symbolic is not
   * materialized again.
   */
  materialize(): Map<Key, GraphNode> {
    const indexed = this.#indexed;
    if (this.layers.size === 1) {
      const only = this.layers.values().next().value!;
      if (indexed === undefined || only instanceof MaterializedLayer) return only.materialize();
    }
    const out = new Map<Key, GraphNode>();
    if (indexed !== undefined) {
      const { keys, nodes } = indexed;
      for (let i = 0; i < keys.length; i++) out.set(keys[i]!, nodes[i]!);
      return out;
    }
    for (const layer of this.layers.values()) {
      if (layer.materializeInto !== undefined) layer.materializeInto(out);
      else for (const [k, v] of layer.materialize()) out.set(k, v);
    }
    return out;
  }
}
