import { MissingKeyError } from "./errors.js";
import { Graph } from "./graph.js";
import { keyName, type Key } from "./key.js";
import type { Layer } from "./layer.js";
import { MaterializedLayer } from "./materialized-layer.js";
import { Fused, Task, type GraphNode } from "./spec.js";

/**
 * Linear-chain fusion (dask's fuse_linear): a task whose value only one task reads, where
 * that task reads nothing else, runs inside it, so a chain `a → b → c` becomes one
 * {@link Fused} node keyed `c` with steps `[a, b, c]` (steps of fused nodes are spliced in).
 * Requested keys are never fused into a dependent; data nodes and aliases are never fused.
 * Every layer of the result is a {@link MaterializedLayer} (the pass had to materialize them,
 * and the scheduler needs them materialized next).
 *
 * @example
 * ```ts
 * const g = fuseLinear(graph, ["total"]);
 * ```
 */
export function fuseLinear(graph: Graph, keys: Iterable<Key>): Graph {
  const names = [...graph.layers.keys()];
  const maps = names.map((n) => graph.layers.get(n)!.materialize());
  const byName = new Map(names.map((n, i) => [n, i]));
  const layerIndexOf = (k: Key): number => {
    const l = byName.get(keyName(k));
    if (l !== undefined && maps[l]!.has(k)) return l;
    for (let i = 0; i < maps.length; i++) if (maps[i]!.has(k)) return i;
    return -1;
  };

  // Only keys that something reads matter: who reads each (null when several do).
  const reader = new Map<Key, GraphNode | null>();
  for (const m of maps) {
    for (const node of m.values()) {
      const deps = node.dependencies;
      for (let k = 0; k < deps.length; k++) {
        const d = deps[k]!;
        reader.set(d, reader.get(d) === undefined ? node : null);
      }
    }
  }

  // absorbed: key → its layer, for nodes that run inside their only reader.
  const absorbed = new Map<Key, number>();
  const changed = new Uint8Array(names.length);
  let requested: Set<Key> | undefined;
  for (const [d, r] of reader) {
    const l = layerIndexOf(d);
    if (l < 0) throw new MissingKeyError(d, r?.key);
    if (r === null || !isTaskLike(r) || r.dependencies.length !== 1 || !isTaskLike(maps[l]!.get(d)!)) continue;
    requested ??= new Set(keys);
    if (requested.has(d)) continue;
    absorbed.set(d, l);
    changed[l] = 1;
    changed[layerIndexOf(r.key)] = 1;
  }
  if (absorbed.size === 0) return materialized(graph, names, maps);

  const chain: GraphNode[] = [];
  const layers = new Map<string, Layer>();
  const deps = new Map<string, Set<string>>();
  for (let l = 0; l < names.length; l++) {
    const name = names[l]!;
    const old = graph.layers.get(name)!;
    if (changed[l] === 0) {
      layers.set(name, old instanceof MaterializedLayer ? old : new MaterializedLayer(name, maps[l]!, { ...old.annotations }));
      continue;
    }
    const out = new Map<Key, GraphNode>();
    const read = new Set<string>();
    for (let node of maps[l]!.values()) {
      if (absorbed.has(node.key)) continue;
      if (node.dependencies.length === 1 && absorbed.has(node.dependencies[0]!)) {
        chain.length = 0;
        chain.push(node);
        for (let d = node.dependencies[0]!; ; ) {
          const head = maps[absorbed.get(d)!]!.get(d)!;
          chain.push(head);
          if (head.dependencies.length !== 1 || !absorbed.has(head.dependencies[0]!)) break;
          d = head.dependencies[0]!;
        }
        const steps: Task[] = [];
        for (let c = chain.length - 1; c >= 0; c--) {
          const step = chain[c]!;
          if (step instanceof Fused) for (const s of step.steps) steps.push(s);
          else steps.push(step as Task);
        }
        node = new Fused(node.key, steps, chain[chain.length - 1]!.dependencies);
      }
      out.set(node.key, node);
      for (const d of node.dependencies) read.add(names[layerIndexOf(d)]!);
    }
    if (out.size === 0) continue;
    read.delete(name);
    layers.set(name, new MaterializedLayer(name, out, { ...old.annotations }));
    deps.set(name, read);
  }
  for (const name of layers.keys()) {
    if (deps.has(name)) continue;
    const read = new Set<string>();
    for (const d of graph.dependencies.get(name) ?? []) if (layers.has(d)) read.add(d);
    deps.set(name, read);
  }
  return new Graph(layers, deps);
}

/** The graph with every layer replaced by its materialized map, which callers need next anyway. */
function materialized(graph: Graph, names: readonly string[], maps: readonly Map<Key, GraphNode>[]): Graph {
  const layers = new Map<string, Layer>();
  for (let l = 0; l < names.length; l++) {
    const old = graph.layers.get(names[l]!)!;
    layers.set(names[l]!, old instanceof MaterializedLayer ? old : new MaterializedLayer(names[l]!, maps[l]!, { ...old.annotations }));
  }
  return new Graph(layers, graph.dependencies);
}

function isTaskLike(node: GraphNode): node is Task | Fused {
  return node instanceof Task || node instanceof Fused;
}
