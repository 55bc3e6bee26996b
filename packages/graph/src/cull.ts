import { MissingKeyError } from "./errors.js";
import { Graph } from "./graph.js";
import type { Key } from "./key.js";
import { KeyRouter } from "./key-router.js";
import type { Layer } from "./layer.js";

/**
 * The part of `graph` needed to compute `keys`: exactly the requested keys and their
 * ancestors (dask's cull). Works layer by layer, dependents before dependencies, so a
 * symbolic layer is restricted to the blocks that are needed without generating the others;
 * layers that nothing needs are dropped, and each kept layer's dependencies become the
 * layers its kept tasks actually read. Throws {@link MissingKeyError} for a key (requested or
 * referenced) that no layer produces.
 *
 * @example
 * ```ts
 * const small = cull(x.graph, [blockKey(x.name, [0, 0])]);
 * small.stats(); // { tasks: 2, layers: 2 } for a load + one elementwise op
 * ```
 */
export function cull(graph: Graph, keys: Iterable<Key>): Graph {
  const router = new KeyRouter(graph.layers);
  const pending = new Map<string, Key[]>();
  const route = (key: Key, from: string | undefined): string => {
    const layer = router.layerOf(key);
    if (layer === undefined) throw new MissingKeyError(key, from);
    let list = pending.get(layer.name);
    if (list === undefined) pending.set(layer.name, (list = []));
    list.push(key);
    return layer.name;
  };
  for (const k of keys) route(k, undefined);

  // Dependents first, so a layer has every request before it is culled. A request that
  // arrives later (a task reading a layer it does not declare) re-culls that layer.
  const order = graph.layerOrder().reverse();
  const culled = new Map<string, Layer>();
  const requested = new Map<string, Key[]>();
  const reads = new Map<string, Set<string>>();
  for (let again = true; again; ) {
    again = false;
    for (const name of order) {
      const incoming = pending.get(name);
      if (incoming === undefined || incoming.length === 0) continue;
      pending.delete(name);
      again = true;
      let all = requested.get(name);
      if (all === undefined) requested.set(name, (all = incoming));
      else for (const k of incoming) all.push(k);
      const { layer, dependencies } = graph.layers.get(name)!.cull(all);
      culled.set(name, layer);
      const read = reads.get(name) ?? new Set<string>();
      reads.set(name, read);
      for (const d of dependencies) {
        const target = router.layerOf(d);
        if (target === undefined) throw new MissingKeyError(d, name);
        read.add(target.name);
        const done = culled.get(target.name);
        if (done !== undefined && done.has(d)) continue;
        let list = pending.get(target.name);
        if (list === undefined) pending.set(target.name, (list = []));
        list.push(d);
      }
    }
  }

  const layers = new Map<string, Layer>();
  const deps = new Map<string, Set<string>>();
  for (const name of graph.layers.keys()) {
    const layer = culled.get(name);
    if (layer === undefined) continue;
    layers.set(name, layer);
    const read = reads.get(name)!;
    read.delete(name);
    deps.set(name, read);
  }
  return new Graph(layers, deps);
}
