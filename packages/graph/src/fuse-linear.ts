import { MissingKeyError } from "./errors.js";
import { Graph } from "./graph.js";
import { keyName, type Key } from "./key.js";
import { layerPositions, type PlacedKeys } from "./node-positions.js";
import type { Layer, MaterializedLists } from "./layer.js";
import { MaterializedLayer } from "./materialized-layer.js";
import { Blockwise } from "./blockwise.js";
import { FusedBlockwise } from "./fused-blockwise.js";
import { Fused, Task, type GraphNode } from "./spec.js";
import { withDependents } from "./order.js";

/**
 * Linear-chain fusion (dask's fuse_linear): a task whose value only one task reads, where
 * that task reads nothing else, runs inside it, so a chain `a → b → c` becomes one
 * {@link Fused} node keyed `c` with steps `[a, b, c]` (steps of fused nodes are spliced in).
 * Requested keys are never fused into a dependent; data nodes and aliases are never fused.
 * Every layer of the result is a {@link MaterializedLayer} (the pass had to materialize them,
 * and the scheduler needs them materialized next), except a Blockwise layer that nothing fused
 * into or out of: it stays as it was, and the numbering the result carries holds its nodes.
 *
 * @example
 * ```ts
 * const g = fuseLinear(graph, ["total"]);
 * ```
 */
export function fuseLinear(graph: Graph, keys: Iterable<Key>): Graph {
  const names = [...graph.layers.keys()];
  // a Blockwise layer's nodes as lists, placed by their keys: no map of its keys is built
  const parts = names.map((name) => layerNodes(graph.layers.get(name)!));
  let n = 0;
  let edges = 0;
  for (const p of parts) n += p.size;
  const nodes = new Array<GraphNode>(n);
  const nodeKeys = new Array<Key>(n);
  const layerOf = new Int32Array(n);
  n = 0;
  for (let l = 0; l < parts.length; l++) {
    const part = parts[l]!;
    if (part instanceof Map) {
      for (const [k, node] of part) {
        nodes[n] = node;
        nodeKeys[n] = k;
        layerOf[n++] = l;
        edges += node.dependencies.length;
      }
      continue;
    }
    const { keys: ks, nodes: ns } = part.lists;
    for (let i = 0; i < ns.length; i++) {
      nodes[n] = ns[i]!;
      nodeKeys[n] = ks[i]!;
      layerOf[n++] = l;
      edges += ns[i]!.dependencies.length;
    }
  }
  const positionOf = layerPositions(names, parts, nodes);

  // Who reads each node: how many, and which one when there is one; and the dependency lists
  // by number, which the graph keeps when nothing fuses (compute numbers the nodes next).
  const readers = new Int32Array(n);
  const reader = new Int32Array(n);
  const firstDep = new Int32Array(n).fill(-1);
  const depStart = new Int32Array(n + 1);
  const depList = new Int32Array(edges);
  let e = 0;
  for (let i = 0; i < n; i++) {
    depStart[i] = e;
    const deps = nodes[i]!.dependencies;
    for (let k = 0; k < deps.length; k++) {
      const j = positionOf(deps[k]!);
      if (j < 0) throw new MissingKeyError(deps[k]!, nodes[i]!.key);
      if (k === 0) firstDep[i] = j;
      readers[j]!++;
      reader[j] = i;
      depList[e++] = j;
    }
  }
  depStart[n] = e;
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
  if (!any) {
    const out = materialized(graph, names, parts);
    return withNumbering(out, nodeKeys, nodes, absorbed, identity(n), [], depStart, depList) ?? out;
  }

  const out = names.map((_, l) => (changed[l] === 1 ? new Map<Key, GraphNode>() : undefined));
  // each kept node's chain head (itself when nothing fused into it) and its new node, if fused
  const headOf = identity(n);
  const fusedNode = new Array<GraphNode | undefined>(n);
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
      headOf[i] = head;
      fusedNode[i] = node;
    }
    target.set(nodeKeys[i]!, node);
    for (let p = depStart[head]!; p < depStart[head + 1]!; p++) reads[l]!.add(layerOf[depList[p]!]!);
  }

  const layers = new Map<string, Layer>();
  const deps = new Map<string, Set<string>>();
  for (let l = 0; l < names.length; l++) {
    const name = names[l]!;
    const old = graph.layers.get(name)!;
    const m = out[l];
    if (m === undefined) {
      layers.set(name, unchanged(old, parts[l]!));
      continue;
    }
    if (m.size === 0) continue;
    layers.set(name, asMaterialized(old, m));
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
  const fusedGraph = new Graph(layers, deps);
  return withNumbering(fusedGraph, nodeKeys, nodes, absorbed, headOf, fusedNode, depStart, depList) ?? fusedGraph;
}

/**
 * `graph` (what fusing left of `nodes`) carrying its nodes' numbering, derived from the one made
 * for fusing: the kept nodes in order, each reading what its chain's head read. `undefined`
 * when a key is in two layers (then materialize() keeps one node where the numbering has two).
 */
function withNumbering(
  graph: Graph,
  keys: readonly Key[],
  nodes: readonly GraphNode[],
  absorbed: Uint8Array,
  headOf: Int32Array,
  fusedNode: readonly (GraphNode | undefined)[],
  depStart: Int32Array,
  depList: Int32Array,
): Graph | undefined {
  const n = nodes.length;
  const renumber = new Int32Array(n);
  let m = 0;
  let edges = 0;
  for (let i = 0; i < n; i++) {
    if (absorbed[i] === 1) {
      renumber[i] = -1;
      continue;
    }
    renumber[i] = m++;
    edges += depStart[headOf[i]! + 1]! - depStart[headOf[i]!]!;
  }
  if (!disjoint(graph)) return undefined;
  const keys2 = new Array<Key>(m);
  const nodes2 = new Array<GraphNode>(m);
  const depStart2 = new Int32Array(m + 1);
  const depList2 = new Int32Array(edges);
  let e = 0;
  for (let i = 0; i < n; i++) {
    const q = renumber[i]!;
    if (q < 0) continue;
    keys2[q] = keys[i]!;
    nodes2[q] = fusedNode[i] ?? nodes[i]!;
    depStart2[q] = e;
    const h = headOf[i]!;
    for (let p = depStart[h]!; p < depStart[h + 1]!; p++) {
      const d = renumber[depList[p]!]!;
      // a chain never reads a node fused away into another one; if it did, number afresh
      if (d < 0) return undefined;
      depList2[e++] = d;
    }
  }
  depStart2[m] = e;
  return new Graph(graph.layers, graph.dependencies, withDependents(keys2, nodes2, depStart2, depList2));
}

/**
 * Whether no key is in two layers of `graph` (then `materialize()` keeps every node), without
 * merging them: a key that carries its own layer's name can only clash with a key of another
 * layer that does not, so only those few are looked up. Every layer here is materialized.
 */
function disjoint(graph: Graph): boolean {
  const foreign = new Set<Key>();
  for (const layer of graph.layers.values()) {
    // a Blockwise layer kept as it was: its keys all carry its name
    if (!(layer instanceof MaterializedLayer)) continue;
    for (const k of layer.foreignKeys) {
      if (foreign.has(k)) return false;
      foreign.add(k);
      const owner = graph.layers.get(keyName(k));
      if (owner !== undefined && owner !== layer && owner.has(k)) return false;
    }
  }
  return true;
}

/** `old` if it is materialized and `nodes` are its nodes, else a materialized layer of `nodes` under its name. */
function asMaterialized(old: Layer, nodes: Map<Key, GraphNode>): MaterializedLayer {
  if (old instanceof MaterializedLayer && old.materialize() === nodes) return old;
  // a Blockwise layer's keys, or some of them, all carry its name
  if (old instanceof Blockwise || old instanceof FusedBlockwise) return MaterializedLayer.ofBlocks(old.name, nodes, { ...old.annotations });
  return new MaterializedLayer(old.name, nodes, { ...old.annotations });
}

/** A layer's nodes for this pass: its map, or a Blockwise layer's lists and its own lookup of keys. */
type LayerNodes = Map<Key, GraphNode> | PlacedLists;

/** The nodes of a Blockwise-family layer as lists, placed by the layer (see {@link Layer.positionOf}). */
class PlacedLists implements PlacedKeys {
  readonly layer: Layer;
  readonly lists: MaterializedLists;
  constructor(layer: Layer, lists: MaterializedLists) {
    this.layer = layer;
    this.lists = lists;
  }

  get size(): number {
    return this.lists.nodes.length;
  }

  positionOf(key: Key): number {
    return this.layer.positionOf!(key);
  }
}

function layerNodes(layer: Layer): LayerNodes {
  if (layer.materializeLists !== undefined && layer.positionOf !== undefined) return new PlacedLists(layer, layer.materializeLists());
  return layer.materialize();
}

/**
 * A layer that fusing left as it was: a Blockwise layer stays symbolic (the numbering this pass
 * attaches to the graph carries its nodes), any other layer is materialized.
 */
function unchanged(old: Layer, part: LayerNodes): Layer {
  return part instanceof Map ? asMaterialized(old, part) : old;
}

/** The graph with every layer as {@link unchanged} gives it. */
function materialized(graph: Graph, names: readonly string[], parts: readonly LayerNodes[]): Graph {
  const layers = new Map<string, Layer>();
  for (let l = 0; l < names.length; l++) {
    const old = graph.layers.get(names[l]!)!;
    layers.set(names[l]!, unchanged(old, parts[l]!));
  }
  return new Graph(layers, graph.dependencies);
}

function isTaskLike(node: GraphNode): node is Task | Fused {
  return node instanceof Task || node instanceof Fused;
}

/** `[0, 1, …, n - 1]` (a loop: `Int32Array.from` with a map function takes the slow generic path). */
function identity(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}
