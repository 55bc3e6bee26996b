import { MissingKeyError } from "./errors.js";
import { Graph } from "./graph.js";
import { keyName, type Key } from "./key.js";
import { nodePositions } from "./node-positions.js";
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
  let n = 0;
  let edges = 0;
  for (const m of maps) n += m.size;
  const nodes = new Array<GraphNode>(n);
  const nodeKeys = new Array<Key>(n);
  const layerOf = new Int32Array(n);
  n = 0;
  for (let l = 0; l < maps.length; l++) {
    for (const [k, node] of maps[l]!) {
      nodes[n] = node;
      nodeKeys[n] = k;
      layerOf[n++] = l;
      edges += node.dependencies.length;
    }
  }
  if (edges === 0) return materialized(graph, names, maps);
  const byName = new Map(names.map((name, l) => [name, l]));
  let lastMap = maps[0]!;
  const find = (k: Key): GraphNode | undefined => {
    let v = lastMap.get(k);
    if (v !== undefined) return v;
    const l = byName.get(keyName(k));
    if (l !== undefined && (v = maps[l]!.get(k)) !== undefined) {
      lastMap = maps[l]!;
      return v;
    }
    for (const m of maps) if ((v = m.get(k)) !== undefined) return (lastMap = m), v;
    return undefined;
  };
  const positionOf = nodePositions(nodes, nodeKeys, find);

  // Who reads each node: how many, and which one when there is one.
  const readers = new Int32Array(n);
  const reader = new Int32Array(n);
  const firstDep = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const deps = nodes[i]!.dependencies;
    for (let k = 0; k < deps.length; k++) {
      const j = positionOf(deps[k]!);
      if (j < 0) throw new MissingKeyError(deps[k]!, nodes[i]!.key);
      if (k === 0) firstDep[i] = j;
      readers[j]!++;
      reader[j] = i;
    }
  }
  const requested = new Uint8Array(n);
  for (const k of keys) {
    const j = positionOf(k);
    if (j >= 0) requested[j] = 1;
  }

  // absorbed[j]: j runs inside its only reader, which reads nothing else.
  const absorbed = new Uint8Array(n);
  const changed = new Uint8Array(names.length);
  let any = false;
  for (let j = 0; j < n; j++) {
    if (readers[j] !== 1 || requested[j] === 1) continue;
    const r = reader[j]!;
    if (nodes[r]!.dependencies.length !== 1 || !isTaskLike(nodes[r]!) || !isTaskLike(nodes[j]!)) continue;
    absorbed[j] = 1;
    changed[layerOf[j]!] = changed[layerOf[r]!] = 1;
    any = true;
  }
  if (!any) return materialized(graph, names, maps);

  const out = names.map((_, l) => (changed[l] === 1 ? new Map<Key, GraphNode>() : undefined));
  const reads = names.map((_, l) => (changed[l] === 1 ? new Set<number>() : undefined));
  const chain: number[] = [];
  for (let i = 0; i < n; i++) {
    const l = layerOf[i]!;
    const target = out[l];
    if (target === undefined || absorbed[i] === 1) continue;
    let node = nodes[i]!;
    let head = i;
    if (firstDep[i]! >= 0 && absorbed[firstDep[i]!] === 1) {
      chain.length = 0;
      chain.push(i);
      for (let j = firstDep[i]!; ; j = firstDep[j]!) {
        chain.push(j);
        head = j;
        if (firstDep[j]! < 0 || absorbed[firstDep[j]!] !== 1 || nodes[j]!.dependencies.length !== 1) break;
      }
      const steps: Task[] = [];
      for (let c = chain.length - 1; c >= 0; c--) {
        const step = nodes[chain[c]!]!;
        if (step instanceof Fused) for (const s of step.steps) steps.push(s);
        else steps.push(step as Task);
      }
      node = new Fused(node.key, steps, nodes[head]!.dependencies);
    }
    target.set(nodeKeys[i]!, node);
    const deps = nodes[head]!.dependencies;
    for (let k = 0; k < deps.length; k++) reads[l]!.add(layerOf[positionOf(deps[k]!)]!);
  }

  const layers = new Map<string, Layer>();
  const deps = new Map<string, Set<string>>();
  for (let l = 0; l < names.length; l++) {
    const name = names[l]!;
    const old = graph.layers.get(name)!;
    const m = out[l];
    if (m === undefined) {
      layers.set(name, old instanceof MaterializedLayer ? old : new MaterializedLayer(name, maps[l]!, { ...old.annotations }));
      continue;
    }
    if (m.size === 0) continue;
    layers.set(name, new MaterializedLayer(name, m, { ...old.annotations }));
    const read = new Set<string>();
    for (const r of reads[l]!) if (r !== l) read.add(names[r]!);
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
