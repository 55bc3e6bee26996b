import type { Key } from "./key.js";
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
