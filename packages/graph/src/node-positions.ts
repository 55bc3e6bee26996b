import { keyName, type Key } from "./key.js";
import { nodeId, type GraphNode } from "./spec.js";

/**
 * Numbers for the nodes of a graph pass: `nodes[i]` has position i, and `positionOf(key)` finds
 * a key's position (-1 when absent) with one `find` and a typed-array read — nodes carry a
 * serial number from when they were made, and nodes made together have nearby numbers. When
 * the numbers are too scattered (or a node appears twice), a map of keys is built instead.
 */
export function nodePositions(
  nodes: readonly GraphNode[],
  keys: readonly Key[],
  find: (key: Key) => GraphNode | undefined,
): (key: Key) => number {
  const n = nodes.length;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const id = nodes[i]![nodeId];
    if (id < lo) lo = id;
    if (id > hi) hi = id;
  }
  if (n > 0 && hi - lo < 4 * n + 1024) {
    const pos = new Int32Array(hi - lo + 1).fill(-1);
    let unique = true;
    for (let i = 0; i < n; i++) {
      const slot = nodes[i]![nodeId] - lo;
      if (pos[slot] !== -1) unique = false;
      pos[slot] = i;
    }
    if (unique) {
      return (key) => {
        const node = find(key);
        return node === undefined ? -1 : pos[node[nodeId] - lo]!;
      };
    }
  }
  const index = new Map<Key, number>();
  for (let i = 0; i < n; i++) index.set(keys[i]!, i);
  return (key) => index.get(key) ?? -1;
}

/**
 * {@link nodePositions} for nodes numbered layer by layer: layer `l`'s nodes (the entries of
 * `maps[l]`, in order) have positions `start[l]` onwards. A key is found in its layer's map (the
 * layer of the previous key first, then the layer its name names, then every layer) and its
 * position read from that layer's serial-number range: the nodes of one layer are usually made
 * together, where a long-lived layer and one materialized for this pass are not.
 */
export function layerPositions(names: readonly string[], maps: readonly Map<Key, GraphNode>[], nodes: readonly GraphNode[]): (key: Key) => number {
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
    let min = Infinity;
    let max = -Infinity;
    for (let i = from; i < to; i++) {
      const id = nodes[i]![nodeId];
      if (id < min) min = id;
      if (id > max) max = id;
    }
    if (to > from && max - min < 4 * (to - from) + 1024) {
      const pos = new Int32Array(max - min + 1).fill(-1);
      let unique = true;
      for (let i = from; i < to && unique; i++) {
        const slot = nodes[i]![nodeId] - min;
        if (pos[slot] !== -1) unique = false;
        pos[slot] = i;
      }
      if (unique) {
        lo[l] = min;
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
    const l = byName.get(keyName(key));
    if (l !== undefined && (node = maps[l]!.get(key)) !== undefined) return at(l, key, node);
    for (let m = 0; m < count; m++) if ((node = maps[m]!.get(key)) !== undefined) return at(m, key, node);
    return -1;
  };
}
