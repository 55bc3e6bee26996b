import type { Fused, Key, Lane, Op } from "@zask/graph";

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
const NOTHING: ReadonlySet<Key> = new Set();

function laneOf(op: Op): Lane {
  return typeof op === "function" ? "inline" : op.lane;
}

/**
 * Split a fused node's steps by lane, so that fetches run on the main thread's I/O lane and
 * the decode that follows goes to a worker as one message. Plain functions are `inline`.
 */
export function segmentsOf(node: Fused): readonly Segment[] {
  let segs = cache.get(node);
  if (segs !== undefined) return segs;
  const steps = node.steps;
  const n = steps.length;
  const first = laneOf(steps[0]!.op);
  let single = true;
  for (let s = 1; s < n && single; s++) single = laneOf(steps[s]!.op) === first;
  if (single) {
    // the common case (a load and a select, a decode and a reduce): one segment, nothing later
    segs = [{ lane: first, from: 0, to: n, usedLater: NOTHING, exports: [n - 1], id: idOf(node, 0, n) }];
  } else {
    const bounds: [Lane, number, number][] = [];
    for (let s = 0; s < n; s++) {
      const lane = laneOf(steps[s]!.op);
      const last = bounds[bounds.length - 1];
      if (last !== undefined && last[0] === lane) last[2] = s + 1;
      else bounds.push([lane, s, s + 1]);
    }
    segs = bounds.map(([lane, from, to], b) => {
      const usedLater = new Set<Key>();
      for (let s = to; s < n; s++) for (const d of steps[s]!.dependencies) usedLater.add(d);
      const exports: number[] = [];
      for (let s = from; s < to; s++) {
        if (usedLater.has(steps[s]!.key) || (b === bounds.length - 1 && s === n - 1)) exports.push(s);
      }
      return { lane, from, to, usedLater, exports, id: idOf(node, from, to) };
    });
  }
  cache.set(node, segs);
  return segs;
}

interface IdNode {
  id: string | undefined;
  readonly next: WeakMap<Op, IdNode>;
}

// ids of op sequences, found by walking op objects (no string building per node); weak, so
// that the plain functions of old graphs can go
const ids: IdNode = { id: "", next: new WeakMap() };

function idOf(node: Fused, from: number, to: number): string {
  let t = ids;
  for (let s = from; s < to; s++) {
    const op = node.steps[s]!.op;
    let next = t.next.get(op);
    if (next === undefined) {
      const name = typeof op === "function" ? op.name : `${op.module}#${op.name}`;
      next = { id: t.id === "" ? name : `${t.id}>${name}`, next: new WeakMap() };
      t.next.set(op, next);
    }
    t = next;
  }
  return t.id!;
}
