import { CycleError, MissingKeyError, type GraphNode, type IndexedNodes, type Key } from "@zask/graph";

/**
 * A graph ready to run: the nodes needed for the requested keys, numbered so that every node
 * comes after its dependencies, with dependency and dependent lists as integer arrays
 * (compressed rows), and a priority per node (lower runs first).
 */
export interface Plan {
  readonly size: number;
  readonly keys: readonly Key[];
  readonly nodes: readonly GraphNode[];
  readonly index: ReadonlyMap<Key, number>;
  /** Dependencies of node i: `depList[depStart[i] .. depStart[i+1])`. */
  readonly depStart: Int32Array;
  readonly depList: Int32Array;
  /** Dependents of node i, same layout. */
  readonly dependentStart: Int32Array;
  readonly dependentList: Int32Array;
  readonly priority: Float64Array;
  /** 1 for the requested keys, whose values are kept to the end. */
  readonly outputs: Uint8Array;
  /** Node index of each requested key, in request order. */
  readonly outputIndex: readonly number[];
}

/**
 * The plan of a graph the graph package already numbered ({@link IndexedNodes}, checked for
 * missing keys, and for cycles by `orderIndexed`, whose ranks are `rank`): nothing is indexed
 * again, and the map of keys to numbers is built only if the run asks for it (aliases, fused
 * segments, pool messages; a plain sync run never does). The nodes must already be culled to
 * the ancestors of `keys`. Without `rank`, the numbering is the priority (and cycles are checked here).
 */
export function planIndexed(g: IndexedNodes, keys: readonly Key[], rank?: Int32Array): Plan {
  const n = g.keys.length;
  if (rank === undefined) checkAcyclic(n, g.depStart, g.dependentStart, g.dependentList, g.keys);
  const priority = new Float64Array(n);
  if (rank === undefined) for (let j = 0; j < n; j++) priority[j] = j;
  else priority.set(rank);
  const outputs = new Uint8Array(n);
  let lazy: Map<Key, number> | undefined;
  const indexOf = (): Map<Key, number> => {
    if (lazy === undefined) {
      lazy = new Map<Key, number>();
      for (let j = 0; j < n; j++) lazy.set(g.keys[j]!, j);
    }
    return lazy;
  };
  // a few requested keys: find them by scanning from the end (outputs come last in a culled map) before building the map
  const outputIndex = keys.map((k) => {
    let i = -1;
    if (keys.length <= 8) {
      for (let j = n - 1; j >= 0; j--) {
        if (g.keys[j] === k) {
          i = j;
          break;
        }
      }
    } else {
      i = indexOf().get(k) ?? -1;
    }
    if (i < 0) throw new MissingKeyError(k);
    outputs[i] = 1;
    return i;
  });
  return {
    size: n,
    keys: g.keys,
    nodes: g.nodes,
    get index() {
      return indexOf();
    },
    depStart: g.depStart,
    depList: g.depList,
    dependentStart: g.dependentStart,
    dependentList: g.dependentList,
    priority,
    outputs,
    outputIndex,
  };
}

/**
 * Number the nodes reachable from `keys` in depth-first post-order (this culls the rest, and
 * is the fallback priority when no `order` is given), checking for missing keys and cycles.
 */
export function buildPlan(nodes: ReadonlyMap<Key, GraphNode>, keys: readonly Key[], order?: ReadonlyMap<Key, number>): Plan {
  const index = new Map<Key, number>();
  const orderedKeys: Key[] = [];
  const orderedNodes: GraphNode[] = [];
  const stackNodes: GraphNode[] = [];
  const stackPos: number[] = [];
  const ON_STACK = -1;
  for (const root of keys) {
    if (index.has(root)) continue;
    const rootNode = nodes.get(root);
    if (rootNode === undefined) throw new MissingKeyError(root);
    index.set(root, ON_STACK);
    stackNodes.push(rootNode);
    stackPos.push(0);
    while (stackNodes.length > 0) {
      const top = stackNodes.length - 1;
      const node = stackNodes[top]!;
      const deps = node.dependencies;
      const p = stackPos[top]!;
      if (p < deps.length) {
        stackPos[top] = p + 1;
        const d = deps[p]!;
        const seen = index.get(d);
        if (seen === undefined) {
          const dn = nodes.get(d);
          if (dn === undefined) throw new MissingKeyError(d, node.key);
          index.set(d, ON_STACK);
          stackNodes.push(dn);
          stackPos.push(0);
        } else if (seen === ON_STACK) {
          const path = stackNodes.map((n) => n.key);
          throw new CycleError([...path.slice(path.indexOf(d)), d]);
        }
      } else {
        stackNodes.pop();
        stackPos.pop();
        index.set(node.key, orderedKeys.length);
        orderedKeys.push(node.key);
        orderedNodes.push(node);
      }
    }
  }

  const n = orderedNodes.length;
  const depStart = new Int32Array(n + 1);
  let total = 0;
  for (let i = 0; i < n; i++) {
    depStart[i] = total;
    total += orderedNodes[i]!.dependencies.length;
  }
  depStart[n] = total;
  const depList = new Int32Array(total);
  const dependentCount = new Int32Array(n + 1);
  for (let i = 0, w = 0; i < n; i++) {
    for (const d of orderedNodes[i]!.dependencies) {
      const j = index.get(d)!;
      depList[w++] = j;
      dependentCount[j]!++;
    }
  }
  const { dependentStart, dependentList } = dependents(n, depStart, depList, dependentCount);
  const priority = new Float64Array(n);
  for (let i = 0; i < n; i++) priority[i] = order?.get(orderedKeys[i]!) ?? i;
  return finish(keys, index, orderedKeys, orderedNodes, depStart, depList, dependentStart, dependentList, priority);
}

function dependents(
  n: number,
  depStart: Int32Array,
  depList: Int32Array,
  dependentCount: Int32Array,
): { dependentStart: Int32Array; dependentList: Int32Array } {
  const total = depList.length;
  const dependentStart = new Int32Array(n + 1);
  for (let i = 0, s = 0; i < n; i++) {
    dependentStart[i] = s;
    s += dependentCount[i]!;
  }
  dependentStart[n] = total;
  const fill = dependentStart.slice(0, n);
  const dependentList = new Int32Array(total);
  for (let i = 0; i < n; i++) {
    for (let e = depStart[i]!; e < depStart[i + 1]!; e++) dependentList[fill[depList[e]!]!++] = i;
  }
  return { dependentStart, dependentList };
}

/** Kahn's count: every node must become ready once its dependencies are done. */
function checkAcyclic(n: number, depStart: Int32Array, dependentStart: Int32Array, dependentList: Int32Array, keys: readonly Key[]): void {
  const waiting = new Int32Array(n);
  const queue = new Int32Array(n);
  let tail = 0;
  for (let i = 0; i < n; i++) {
    waiting[i] = depStart[i + 1]! - depStart[i]!;
    if (waiting[i] === 0) queue[tail++] = i;
  }
  for (let head = 0; head < tail; head++) {
    const i = queue[head]!;
    for (let e = dependentStart[i]!; e < dependentStart[i + 1]!; e++) {
      const j = dependentList[e]!;
      if (--waiting[j]! === 0) queue[tail++] = j;
    }
  }
  if (tail < n) {
    const stuck = [];
    for (let i = 0; i < n && stuck.length < 8; i++) if (waiting[i]! > 0) stuck.push(keys[i]!);
    throw new CycleError(stuck);
  }
}

function finish(
  keys: readonly Key[],
  index: Map<Key, number>,
  orderedKeys: Key[],
  orderedNodes: GraphNode[],
  depStart: Int32Array,
  depList: Int32Array,
  dependentStart: Int32Array,
  dependentList: Int32Array,
  priority: Float64Array,
): Plan {
  const n = orderedNodes.length;
  const outputs = new Uint8Array(n);
  const outputIndex = keys.map((k) => {
    const i = index.get(k);
    if (i === undefined) throw new MissingKeyError(k);
    outputs[i] = 1;
    return i;
  });
  return { size: n, keys: orderedKeys, nodes: orderedNodes, index, depStart, depList, dependentStart, dependentList, priority, outputs, outputIndex };
}
