import { CycleError, MissingKeyError } from "./errors.js";
import type { Key } from "./key.js";
import { layerPositions } from "./node-positions.js";
import type { GraphNode } from "./spec.js";

/**
 * A node graph in integer form: nodes numbered in the map's order, dependencies and
 * dependents as compressed adjacency lists (start offsets into one flat list). Made by
 * {@link indexNodes}; a scheduler can run from it without numbering the nodes again.
 *
 * @example
 * ```ts
 * const g = indexNodes(nodes);
 * const firstDeps = g.depList.subarray(g.depStart[0], g.depStart[1]); // numbers of node 0's dependencies
 * ```
 */
export interface IndexedNodes {
  readonly keys: Key[];
  /** `nodes[i]` has key `keys[i]`. */
  readonly nodes: GraphNode[];
  readonly depStart: Int32Array;
  readonly depList: Int32Array;
  readonly dependentStart: Int32Array;
  readonly dependentList: Int32Array;
}

/**
 * Number the nodes (in the map's order) and build both adjacency lists. Throws
 * {@link MissingKeyError} for an unknown dependency.
 *
 * @example
 * ```ts
 * const g = indexNodes(fuse(cull(graph, keys), keys).materialize());
 * const rank = orderIndexed(g); // rank[i]: priority of node g.keys[i]
 * ```
 */
export function indexNodes(nodes: ReadonlyMap<Key, GraphNode>): IndexedNodes {
  const n = nodes.size;
  const keys = new Array<Key>(n);
  let edges = 0;
  const list = new Array<GraphNode>(n);
  let i = 0;
  for (const [k, node] of nodes) {
    keys[i] = k;
    list[i++] = node;
    edges += node.dependencies.length;
  }
  const positionOf = edges === 0 ? () => -1 : layerPositions([], [nodes], list);
  const depStart = new Int32Array(n + 1);
  const depList = new Int32Array(edges);
  let e = 0;
  for (i = 0; i < n; i++) {
    depStart[i] = e;
    const node = list[i]!;
    const deps = node.dependencies;
    for (let k = 0; k < deps.length; k++) {
      const j = positionOf(deps[k]!);
      if (j < 0) throw new MissingKeyError(deps[k]!, node.key);
      depList[e++] = j;
    }
  }
  depStart[n] = e;
  return withDependents(keys, list, depStart, depList);
}

/**
 * {@link IndexedNodes} from the numbered nodes and their dependency lists (a pass that found
 * every dependency's number already, such as `fuseLinear`, hands them over): adds the
 * dependents' lists.
 */
export function withDependents(keys: Key[], nodes: GraphNode[], depStart: Int32Array, depList: Int32Array): IndexedNodes {
  const n = nodes.length;
  const edges = depStart[n]!;
  const dependentStart = new Int32Array(n + 1);
  for (let p = 0; p < edges; p++) dependentStart[depList[p]! + 1]!++;
  for (let j = 0; j < n; j++) dependentStart[j + 1]! += dependentStart[j]!;
  const fill = dependentStart.slice(0, n);
  const dependentList = new Int32Array(edges);
  for (let j = 0; j < n; j++) {
    for (let p = depStart[j]!; p < depStart[j + 1]!; p++) dependentList[fill[depList[p]!]!++] = j;
  }
  return { keys, nodes, depStart, depList, dependentStart, dependentList };
}

/**
 * A static priority for every node (lower runs first), in the spirit of dask.order: depth
 * first toward finishing what was started, so that a reduction over many chunks holds few
 * intermediate results.
 *
 * How: (1) a plan — a depth-first post-order walk from the outputs (nodes nothing depends on,
 * in the map's order), visiting a node's dependencies heaviest first by a Sethi–Ullman
 * estimate of the results each one holds while it is computed (the order that minimizes the
 * peak on trees); (2) the plan is followed, except that a ready node that is the last reader
 * of some held result (so running it does not raise the number of held results) runs first,
 * most recently readied first. The result is a topological order, deterministic for a given
 * map (ties keep the map's and the dependency lists' order). Linear time apart from sorting
 * each node's dependencies. Throws {@link CycleError} on a cycle and
 * {@link MissingKeyError} for a dependency that is not in `nodes`.
 *
 * @example
 * ```ts
 * const nodes = fuse(cull(graph, keys), keys).materialize();
 * const priority = order(nodes);
 * simulatePeak(nodes, priority).peak; // held results at the worst moment
 * ```
 */
export function order(nodes: ReadonlyMap<Key, GraphNode>): Map<Key, number> {
  const g = indexNodes(nodes);
  const ranks = orderIndexed(g);
  const out = new Map<Key, number>();
  const { keys } = g;
  for (let i = 0; i < keys.length; i++) out.set(keys[i]!, ranks[i]!);
  return out;
}

/**
 * {@link order} on an {@link indexNodes} graph: the rank of each node by number (no map of
 * keys built). Throws {@link CycleError} on a cycle.
 *
 * @example
 * ```ts
 * const g = indexNodes(nodes);
 * const rank = orderIndexed(g);
 * rank[0]; // when node g.keys[0] runs, 0 first
 * ```
 */
export function orderIndexed(g: IndexedNodes): Int32Array {
  const { depStart, depList, dependentStart, dependentList, keys } = g;
  const n = keys.length;

  // Topological order (sources first), also the cycle check.
  const waiting = new Int32Array(n);
  const topo = new Int32Array(n);
  let tail = 0;
  for (let i = 0; i < n; i++) {
    waiting[i] = depStart[i + 1]! - depStart[i]!;
    if (waiting[i] === 0) topo[tail++] = i;
  }
  for (let head = 0; head < tail; head++) {
    const i = topo[head]!;
    for (let p = dependentStart[i]!; p < dependentStart[i + 1]!; p++) {
      const r = dependentList[p]!;
      if (--waiting[r]! === 0) topo[tail++] = r;
    }
  }
  if (tail < n) throw new CycleError(findCycle(g, waiting));

  // Sethi–Ullman need, and each node's dependencies sorted by it (heaviest first).
  const need = new Float64Array(n);
  const children = depList.slice();
  for (let t = 0; t < n; t++) {
    const i = topo[t]!;
    const s = depStart[i]!;
    const e = depStart[i + 1]!;
    if (e - s > 1) sortByNeed(children, s, e, need);
    let v = 1;
    for (let p = s; p < e; p++) v = Math.max(v, need[children[p]!]! + (p - s));
    need[i] = v;
  }

  // The plan: depth-first post-order from the outputs.
  const plan = new Int32Array(n);
  const visited = new Uint8Array(n);
  const next = new Int32Array(n);
  const stack = new Int32Array(n);
  let planned = 0;
  for (let root = 0; root < n; root++) {
    if (dependentStart[root + 1] !== dependentStart[root] || visited[root] === 1) continue;
    let sp = 0;
    stack[sp++] = root;
    visited[root] = 1;
    next[root] = depStart[root]!;
    while (sp > 0) {
      const top = stack[sp - 1]!;
      const p = next[top]!;
      if (p < depStart[top + 1]!) {
        next[top] = p + 1;
        const c = children[p]!;
        if (visited[c] === 0) {
          visited[c] = 1;
          next[c] = depStart[c]!;
          stack[sp++] = c;
        }
      } else {
        sp--;
        plan[planned++] = top;
      }
    }
  }

  // Follow the plan, letting ready last readers of held results jump ahead.
  const depsLeft = new Int32Array(n);
  const readersLeft = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    depsLeft[i] = depStart[i + 1]! - depStart[i]!;
    readersLeft[i] = dependentStart[i + 1]! - dependentStart[i]!;
  }
  const done = new Uint8Array(n);
  const rank = new Int32Array(n);
  const releasers: number[] = [];
  const releases = (r: number): boolean => {
    for (let p = depStart[r]!; p < depStart[r + 1]!; p++) if (readersLeft[depList[p]!] === 1) return true;
    return false;
  };
  let cursor = 0;
  for (let count = 0; count < n; count++) {
    let i = -1;
    while (releasers.length > 0) {
      const c = releasers.pop()!;
      if (done[c] === 0 && depsLeft[c] === 0 && releases(c)) {
        i = c;
        break;
      }
    }
    if (i < 0) {
      while (done[plan[cursor]!] === 1) cursor++;
      i = plan[cursor]!;
    }
    done[i] = 1;
    rank[i] = count;
    for (let p = depStart[i]!; p < depStart[i + 1]!; p++) {
      const d = depList[p]!;
      if (--readersLeft[d]! !== 1) continue;
      for (let q = dependentStart[d]!; q < dependentStart[d + 1]!; q++) {
        const r = dependentList[q]!;
        if (done[r] === 0) {
          if (depsLeft[r] === 0) releasers.push(r);
          break;
        }
      }
    }
    for (let p = dependentStart[i]!; p < dependentStart[i + 1]!; p++) {
      const r = dependentList[p]!;
      if (--depsLeft[r]! === 0 && releases(r)) releasers.push(r);
    }
  }
  return rank;
}

function findCycle(g: IndexedNodes, waiting: Int32Array): Key[] {
  // Every node still waiting has a waiting dependency; walking those must revisit a node.
  let i = waiting.findIndex((w) => w > 0);
  const seen = new Map<number, number>();
  const path: number[] = [];
  while (!seen.has(i)) {
    seen.set(i, path.length);
    path.push(i);
    for (let p = g.depStart[i]!; p < g.depStart[i + 1]!; p++) {
      if (waiting[g.depList[p]!]! > 0) {
        i = g.depList[p]!;
        break;
      }
    }
  }
  const cycle = path.slice(seen.get(i)!).map((j) => g.keys[j]!);
  // dependencies were walked, so reverse to read in run order
  cycle.reverse();
  return [...cycle, cycle[0]!];
}

/**
 * Sort `list[s, e)` by `need`, heaviest first, ties in their order: an insertion sort in place,
 * as dependency lists are short (no view and no comparator call per node).
 */
function sortByNeed(list: Int32Array, s: number, e: number, need: Float64Array): void {
  for (let p = s + 1; p < e; p++) {
    const x = list[p]!;
    const w = need[x]!;
    let q = p;
    while (q > s && need[list[q - 1]!]! < w) {
      list[q] = list[q - 1]!;
      q--;
    }
    list[q] = x;
  }
}
