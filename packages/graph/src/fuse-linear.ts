import { MissingKeyError } from "./errors.js";
import { Graph } from "./graph.js";
import type { Key } from "./key.js";
import type { Layer } from "./layer.js";
import { MaterializedLayer } from "./materialized-layer.js";
import { Fused, Task, type GraphNode } from "./spec.js";

/**
 * Linear-chain fusion (dask's fuse_linear): a task whose value only one task reads, where
 * that task reads nothing else, runs inside it, so a chain `a → b → c` becomes one
 * {@link Fused} node keyed `c` with steps `[a, b, c]` (steps of fused nodes are spliced in).
 * Requested keys are never fused into a dependent; data nodes and aliases are never fused.
 * Layers without a fused chain are returned as they were (symbolic layers stay symbolic).
 *
 * @example
 * ```ts
 * const g = fuseLinear(graph, ["total"]);
 * ```
 */
export function fuseLinear(graph: Graph, keys: Iterable<Key>): Graph {
  const names = [...graph.layers.keys()];
  const maps = names.map((n) => graph.layers.get(n)!.materialize());
  let total = 0;
  for (const m of maps) total += m.size;
  const nodes = new Array<GraphNode>(total);
  const layerOf = new Int32Array(total);
  const index = new Map<Key, number>();
  let n = 0;
  for (let l = 0; l < maps.length; l++) {
    for (const node of maps[l]!.values()) {
      index.set(node.key, n);
      layerOf[n] = l;
      nodes[n++] = node;
    }
  }
  const requested = new Set(keys);

  // Who reads each node: a count, and the reader when there is exactly one.
  const readers = new Int32Array(n);
  const reader = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const deps = nodes[i]!.dependencies;
    for (let k = 0; k < deps.length; k++) {
      const j = index.get(deps[k]!);
      if (j === undefined) throw new MissingKeyError(deps[k]!, nodes[i]!.key);
      readers[j]!++;
      reader[j] = i;
    }
  }

  // absorbed[j]: j runs inside its only reader.
  const absorbed = new Uint8Array(n);
  let any = false;
  for (let j = 0; j < n; j++) {
    if (readers[j] !== 1) continue;
    const a = nodes[j]!;
    const b = nodes[reader[j]!]!;
    if (!isTaskLike(a) || !isTaskLike(b) || b.dependencies.length !== 1 || requested.has(a.key)) continue;
    absorbed[j] = 1;
    any = true;
  }
  if (!any) return graph;

  const changed = new Uint8Array(names.length);
  for (let j = 0; j < n; j++) if (absorbed[j] === 1) changed[layerOf[j]!] = changed[layerOf[reader[j]!]!] = 1;
  const out = names.map(() => new Map<Key, GraphNode>());
  const chain: GraphNode[] = [];
  for (let i = 0; i < n; i++) {
    if (absorbed[i] === 1 || changed[layerOf[i]!] === 0) continue;
    let node = nodes[i]!;
    if (node.dependencies.length === 1) {
      let j = index.get(node.dependencies[0]!)!;
      if (absorbed[j] === 1) {
        chain.length = 0;
        chain.push(node);
        for (;;) {
          const head = nodes[j]!;
          chain.push(head);
          if (head.dependencies.length !== 1) break;
          const h = index.get(head.dependencies[0]!)!;
          if (absorbed[h] !== 1) break;
          j = h;
        }
        const steps: Task[] = [];
        for (let c = chain.length - 1; c >= 0; c--) {
          const step = chain[c]!;
          if (step instanceof Fused) for (const s of step.steps) steps.push(s);
          else steps.push(step as Task);
        }
        node = new Fused(node.key, steps, chain[chain.length - 1]!.dependencies);
      }
    }
    out[layerOf[i]!]!.set(node.key, node);
  }

  const layers = new Map<string, Layer>();
  const deps = new Map<string, Set<string>>();
  for (let l = 0; l < names.length; l++) {
    const name = names[l]!;
    const old = graph.layers.get(name)!;
    if (changed[l] === 0) {
      layers.set(name, old);
      continue;
    }
    if (out[l]!.size === 0) continue;
    layers.set(name, new MaterializedLayer(name, out[l]!, { ...old.annotations }));
    const read = new Set<string>();
    for (const node of out[l]!.values()) {
      for (const d of node.dependencies) {
        const ln = names[layerOf[index.get(d)!]!]!;
        if (ln !== name) read.add(ln);
      }
    }
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

function isTaskLike(node: GraphNode): node is Task | Fused {
  return node instanceof Task || node instanceof Fused;
}
