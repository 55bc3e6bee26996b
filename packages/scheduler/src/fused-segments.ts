import type { Fused, Key, Lane } from "@zask/graph";

/** A run of consecutive steps of a {@link Fused} node that share a lane. */
export interface Segment {
  readonly lane: Lane;
  /** Steps `[from, to)` of the node. */
  readonly from: number;
  readonly to: number;
  /** Keys (outside keys and earlier steps) that later segments still read: never move them. */
  readonly usedLater: ReadonlySet<Key>;
  /** Steps of this segment (node indices) whose values later segments read, and the last step. */
  readonly exports: readonly number[];
  /** The segment's ops, for cost accounting (`module#name` joined by `>`). */
  readonly id: string;
}

const cache = new WeakMap<Fused, readonly Segment[]>();

/**
 * Split a fused node's steps by lane, so that fetches run on the main thread's I/O lane and
 * the decode that follows goes to a worker as one message. Plain functions are `inline`.
 */
export function segmentsOf(node: Fused): readonly Segment[] {
  let segs = cache.get(node);
  if (segs !== undefined) return segs;
  const steps = node.steps;
  const lanes = steps.map((s) => (typeof s.op === "function" ? "inline" : s.op.lane));
  const bounds: [Lane, number, number][] = [];
  for (let s = 0; s < steps.length; s++) {
    const last = bounds[bounds.length - 1];
    if (last !== undefined && last[0] === lanes[s]) last[2] = s + 1;
    else bounds.push([lanes[s]!, s, s + 1]);
  }
  segs = bounds.map(([lane, from, to], b) => {
    const usedLater = new Set<Key>();
    for (let s = to; s < steps.length; s++) for (const d of steps[s]!.dependencies) usedLater.add(d);
    const exports: number[] = [];
    for (let s = from; s < to; s++) {
      if (usedLater.has(steps[s]!.key) || (b === bounds.length - 1 && s === steps.length - 1)) exports.push(s);
    }
    const id = steps
      .slice(from, to)
      .map((s) => (typeof s.op === "function" ? s.op.name : `${s.op.module}#${s.op.name}`))
      .join(">");
    return { lane, from, to, usedLater, exports, id };
  });
  cache.set(node, segs);
  return segs;
}
