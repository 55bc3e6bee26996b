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

/** A layer whose keys name their place (Blockwise): its size, and a key's place in it (-1: not its key). */
export interface PlacedKeys {
  readonly size: number;
  positionOf(key: Key): number;
}

/**
 * Numbers for the nodes of a graph pass, numbered layer by layer: layer `l`'s nodes (the
 * entries of `maps[l]`, in order, also given as `nodes`) have positions `start[l]` onwards, and
 * the function returned finds a key's position (-1 when absent). A key is looked up in the layer
 * of the previous key first, then the layer its name names, then every layer. A layer given as
 * {@link PlacedKeys} (Blockwise) finds a key's place itself, with no map. In a layer given as
 * a map, the key is found there and its position read from that layer's serial-number range
 * with a typed-array read: the nodes of one layer are usually made together, where a long-lived
 * layer and one materialized for this pass are not. A layer whose numbers are too scattered (or
 * that holds a node twice) gets a map of its keys instead. `names` may be empty (then no lookup
 * by name).
 */
export function layerPositions(
  names: readonly string[],
  maps: readonly (ReadonlyMap<Key, GraphNode> | PlacedKeys)[],
  nodes: readonly GraphNode[],
): (key: Key) => number {
  const count = maps.length;
  const start = new Int32Array(count + 1);
  for (let l = 0; l < count; l++) start[l + 1] = start[l]! + maps[l]!.size;
  const lo = new Float64Array(count);
  const slots: (Int32Array | Map<Key, number> | undefined)[] = new Array(count);
  const slotsOf = (l: number, map: ReadonlyMap<Key, GraphNode>): Int32Array | Map<Key, number> => {
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
    for (const k of map.keys()) index.set(k, i++);
    return (slots[l] = index);
  };
  const byName = new Map(names.map((name, l) => [name, l]));
  let last = 0;
  /** The position of `key` if layer `l` holds it, else -1. */
  const find = (l: number, key: Key): number => {
    const m = maps[l]!;
    if (!(m instanceof Map)) {
      const p = (m as PlacedKeys).positionOf(key);
      if (p < 0) return -1;
      last = l;
      return start[l]! + p;
    }
    const node = (m as ReadonlyMap<Key, GraphNode>).get(key);
    if (node === undefined) return -1;
    last = l;
    const s = slotsOf(l, m);
    return s instanceof Int32Array ? s[node[nodeId] - lo[l]!]! : s.get(key)!;
  };
  return (key) => {
    if (count === 0) return -1;
    let p = find(last, key);
    if (p >= 0) return p;
    const l = byName.size > 0 ? byName.get(keyName(key)) : undefined;
    if (l !== undefined && (p = find(l, key)) >= 0) return p;
    for (let m = 0; m < count; m++) if ((p = find(m, key)) >= 0) return p;
    return -1;
  };
}
