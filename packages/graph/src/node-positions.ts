import { keyName, type Key } from "./key.js";
import { nodeId, type GraphNode } from "./spec.js";

/**
 * The range of the serial numbers of `nodes[from, to)` when it is compact enough to index a
 * typed array by (nodes made together have nearby numbers), else null.
 */
export function compactIds(nodes: readonly GraphNode[], from = 0, to = nodes.length): { lo: number; span: number } | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = from; i < to; i++) {
    const id = nodes[i]![nodeId];
    if (id < lo) lo = id;
    if (id > hi) hi = id;
  }
  return to > from && hi - lo < 4 * (to - from) + 1024 ? { lo, span: hi - lo + 1 } : null;
}

/**
 * Numbers for the nodes of a graph pass, numbered layer by layer: layer `l`'s nodes (the
 * entries of `maps[l]`, in order, also given as `nodes`) have positions `start[l]` onwards, and
 * the function returned finds a key's position (-1 when absent). A key is found in its layer's
 * map (the layer of the previous key first, then the layer its name names, then every layer)
 * and its position read from that layer's serial-number range with a typed-array read: the
 * nodes of one layer are usually made together, where a long-lived layer and one materialized
 * for this pass are not. A layer whose numbers are too scattered (or that holds a node twice)
 * gets a map of its keys instead. `names` may be empty (then no lookup by name).
 */
export function layerPositions(names: readonly string[], maps: readonly ReadonlyMap<Key, GraphNode>[], nodes: readonly GraphNode[]): (key: Key) => number {
  const count = maps.length;
  const start = new Int32Array(count + 1);
  for (let l = 0; l < count; l++) start[l + 1] = start[l]! + maps[l]!.size;
  const lo = new Float64Array(count);
  const slots: (Int32Array | Map<Key, number> | undefined)[] = new Array(count);
  const slotsOf = (l: number): Int32Array | Map<Key, number> => {
    let s = slots[l];
    if (s !== undefined) return s;
    const from = start[l]!;
    const to = start[l + 1]!;
    const ids = compactIds(nodes, from, to);
    if (ids !== null) {
      const pos = new Int32Array(ids.span).fill(-1);
      let unique = true;
      for (let i = from; i < to && unique; i++) {
        const slot = nodes[i]![nodeId] - ids.lo;
        if (pos[slot] !== -1) unique = false;
        pos[slot] = i;
      }
      if (unique) {
        lo[l] = ids.lo;
        return (slots[l] = pos);
      }
    }
    const index = new Map<Key, number>();
    let i = from;
    for (const k of maps[l]!.keys()) index.set(k, i++);
    return (slots[l] = index);
  };
  const byName = new Map(names.map((name, l) => [name, l]));
  let last = 0;
  const at = (l: number, key: Key, node: GraphNode): number => {
    last = l;
    const s = slotsOf(l);
    return s instanceof Int32Array ? s[node[nodeId] - lo[l]!]! : s.get(key)!;
  };
  return (key) => {
    let node = maps[last]?.get(key);
    if (node !== undefined) return at(last, key, node);
    const l = byName.size > 0 ? byName.get(keyName(key)) : undefined;
    if (l !== undefined && (node = maps[l]!.get(key)) !== undefined) return at(l, key, node);
    for (let m = 0; m < count; m++) if ((node = maps[m]!.get(key)) !== undefined) return at(m, key, node);
    return -1;
  };
}
