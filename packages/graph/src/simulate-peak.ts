import type { Key } from "./key.js";
import { indexNodes } from "./order.js";
import type { GraphNode } from "./spec.js";

/**
 * What {@link simulatePeak} found.
 *
 * @example
 * ```ts
 * const { peak, peakKey } = simulatePeak(nodes, order(nodes));
 * ```
 */
export interface PeakSimulation {
  /** The most results held at once (by `sizeOf`), counted while a node runs (its inputs and its output). */
  readonly peak: number;
  /** The node running at that moment. */
  readonly peakKey: Key | undefined;
  /** Held at the end: the kept results. */
  readonly final: number;
}

/** Options of {@link simulatePeak}. */
export interface SimulatePeakOptions {
  /** Results held to the end. @default the nodes nothing depends on */
  readonly keep?: Iterable<Key>;
  /** The size of one result. @default () => 1 (count results) */
  readonly sizeOf?: (key: Key) => number;
}

/**
 * Run `nodes` one at a time in the order `priorities` gives (lowest first) and count the
 * results held in memory — a result is dropped once its last reader has run, unless it is
 * kept — to compare orders by their peak. Throws a RangeError when the order runs a node
 * before one of its dependencies.
 *
 * @example
 * ```ts
 * const { peak } = simulatePeak(nodes, order(nodes)); // e.g. 5 for a tree sum of 1000 chunks
 * ```
 */
export function simulatePeak(nodes: ReadonlyMap<Key, GraphNode>, priorities: ReadonlyMap<Key, number>, options: SimulatePeakOptions = {}): PeakSimulation {
  const g = indexNodes(nodes);
  const n = g.keys.length;
  const rank = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = priorities.get(g.keys[i]!);
    if (p === undefined) throw new RangeError(`Expected a priority for every node, got none for ${g.keys[i]}`);
    rank[i] = p;
  }
  const runOrder = Array.from({ length: n }, (_, i) => i).sort((a, b) => rank[a]! - rank[b]! || a - b);
  const kept = new Uint8Array(n);
  if (options.keep === undefined) {
    for (let i = 0; i < n; i++) if (g.dependentStart[i + 1] === g.dependentStart[i]) kept[i] = 1;
  } else {
    const index = new Map(g.keys.map((k, i) => [k, i]));
    for (const k of options.keep) {
      const i = index.get(k);
      if (i !== undefined) kept[i] = 1;
    }
  }
  const size = options.sizeOf ?? (() => 1);
  const readersLeft = new Int32Array(n);
  for (let i = 0; i < n; i++) readersLeft[i] = g.dependentStart[i + 1]! - g.dependentStart[i]!;
  const ran = new Uint8Array(n);
  let held = 0;
  let peak = 0;
  let peakKey: Key | undefined;
  for (const i of runOrder) {
    held += size(g.keys[i]!);
    if (held > peak) {
      peak = held;
      peakKey = g.keys[i];
    }
    for (let p = g.depStart[i]!; p < g.depStart[i + 1]!; p++) {
      const d = g.depList[p]!;
      if (ran[d] === 0) throw new RangeError(`Expected a topological order, got ${g.keys[i]} before its dependency ${g.keys[d]}`);
      if (--readersLeft[d]! === 0 && kept[d] === 0) held -= size(g.keys[d]!);
    }
    ran[i] = 1;
    if (readersLeft[i] === 0 && kept[i] === 0) held -= size(g.keys[i]!);
  }
  return { peak, peakKey, final: held };
}
