import type { Fused, Key, OpRef } from "@zask/graph";
import { opCosts, type Stat } from "./op-costs.js";
import { segmentsOf, type Segment } from "./fused-segments.js";
import { sizeOf } from "./size-of.js";
import type { StepValues } from "./step-values.js";
import type { ValueStore } from "./value-store.js";
import type { Plan } from "./plan.js";

/** Where a cpu task runs. */
export const Route = {
  /** On the main thread: its inputs are small and its op is cheap. */
  inline: 0,
  /** On the pool because its inputs reach the inline threshold. */
  poolBySize: 1,
  /** On the pool only because its op has proved slow; reconsidered when it is sent. */
  poolBySlowOp: 2,
} as const;
export type Route = (typeof Route)[keyof typeof Route];

/**
 * The inline-vs-pool decision of one run: a cpu task whose inputs hold at least
 * `inlineThreshold` bytes, or whose op has proved slow ({@link opCosts}), goes to the pool;
 * anything else runs on the main thread, where a message would cost more than the work.
 *
 * It remembers the cost record of the last op and of the last segment it was asked about, and
 * the segments of the last op sequence that made one segment: the nodes of a fused Blockwise
 * layer share one `ops` array, so a run of them costs one lookup, not one per node.
 */
export class DispatchPolicy {
  readonly #plan: Plan;
  readonly #store: ValueStore;
  /** cpu work whose inputs hold fewer bytes runs inline (Infinity: all of it). */
  readonly threshold: number;
  #statOp: OpRef | undefined;
  #opStat: Stat | undefined;
  #statSeg: Segment | undefined;
  #segStat: Stat | undefined;
  #memoOps: readonly unknown[] | undefined;
  #memoSegs: readonly Segment[] = [];

  constructor(plan: Plan, store: ValueStore, inlineThreshold: number) {
    this.#plan = plan;
    this.#store = store;
    this.threshold = inlineThreshold;
  }

  /** The route of a cpu task of op `op` whose inputs hold `bytes`; `stat`: {@link opStat}`(op)`. */
  route(bytes: number, stat: Stat): Route {
    const threshold = this.threshold;
    if (bytes >= threshold) return Route.poolBySize;
    return threshold !== Infinity && stat.slow ? Route.poolBySlowOp : Route.inline;
  }

  /** The cost record of op `op`. */
  opStat(op: OpRef): Stat {
    if (op !== this.#statOp) {
      this.#statOp = op;
      this.#opStat = opCosts.stat(opCosts.id(op));
    }
    return this.#opStat!;
  }

  /** The cost record of a segment's ops. */
  segmentStat(seg: Segment): Stat {
    if (seg !== this.#statSeg) {
      this.#statSeg = seg;
      this.#segStat = opCosts.stat(seg.id);
    }
    return this.#segStat!;
  }

  /** {@link segmentsOf}, remembered for the last op sequence that made one segment. */
  segments(node: Fused): readonly Segment[] {
    const ops = node.ops;
    if (ops === this.#memoOps || sameOps(ops, this.#memoOps)) return this.#memoSegs;
    const segs = segmentsOf(node);
    if (segs.length === 1) {
      this.#memoOps = ops;
      this.#memoSegs = segs;
    }
    return segs;
  }

  /** Whether cpu segment `seg` of fused node `i` goes to the pool (`local`: the node's step values so far). */
  segmentToPool(i: number, node: Fused, seg: Segment, local: StepValues, stat = opCosts.stat(seg.id)): boolean {
    if (this.threshold === Infinity) return false;
    return stat.slow || this.segmentBytes(i, node, seg, local) >= this.threshold;
  }

  /** Bytes of the values segment `seg` of fused node `i` reads. */
  segmentBytes(i: number, node: Fused, seg: Segment, local: StepValues): number {
    // the first segment reads only outside keys: the node's inputs bound them
    if (seg.from === 0) return this.#store.inputBytes(i);
    const { index } = this.#plan;
    let n = 0;
    const seen = new Set<Key>();
    for (let s = seg.from; s < seg.to; s++) {
      for (const d of node.steps[s]!.dependencies) {
        if (seen.has(d)) continue;
        seen.add(d);
        if (local.has(d)) n += sizeOf(local.get(d));
        else {
          const j = index.get(d);
          if (j !== undefined) n += this.#store.size(j);
        }
      }
    }
    return n;
  }
}

/** Whether two op lists hold the same ops (fused chains made one by one each have their own list). */
function sameOps(a: readonly unknown[], b: readonly unknown[] | undefined): boolean {
  if (b === undefined || a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}
