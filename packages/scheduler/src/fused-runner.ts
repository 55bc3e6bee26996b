import { opName, type Fused, type Key } from "@zask/graph";
import type { DispatchPolicy } from "./dispatch-policy.js";
import { TaskError } from "./errors.js";
import type { Segment } from "./fused-segments.js";
import type { Gate } from "./gate.js";
import { isThenable, type MainEvaluator } from "./main-evaluator.js";
import { opCosts } from "./op-costs.js";
import type { PoolLane } from "./pool-lane.js";
import { onlyLastExported, workerError, type PoolRequests } from "./pool-requests.js";
import { sizeOf } from "./size-of.js";
import type { Staging, StagingTicket } from "./staging.js";
import { StepValues } from "./step-values.js";
import { RECYCLE_MIN, recycleBuffer } from "./buffers.js";
import { viewedBuffers } from "./transfer.js";
import type { ValueStore } from "./value-store.js";
import type { WorkerResponse } from "./worker-protocol.js";

/** What a {@link FusedRunner} runs a fused node's segments with: the lanes and parts of its run. */
export interface FusedRunnerParts {
  readonly store: ValueStore;
  readonly policy: DispatchPolicy;
  readonly evaluator: MainEvaluator;
  readonly requests: PoolRequests;
  readonly ioGate: Gate;
  readonly pool: PoolLane;
  readonly staging: Staging;
  /** Whether the run has finished or failed (then a segment in progress stops). */
  readonly done: () => boolean;
}

/** The value of a fused node and the lanes its segments ran on (e.g. "io+pool"). */
export interface FusedResult {
  readonly value: unknown;
  readonly lanes: string;
}

/**
 * Runs a fused node whose segments need more than one lane, one segment after another: an io
 * segment inside the I/O gate (and, when a cpu segment follows, inside the staging bound from
 * before its fetch until its bytes reach a worker), a cpu segment on the pool or inline as the
 * {@link DispatchPolicy} decides, each segment's values handed on to the next.
 */
export class FusedRunner {
  readonly #p: FusedRunnerParts;

  constructor(parts: FusedRunnerParts) {
    this.#p = parts;
  }

  /** Run fused node `i` (`segs`: its segments); undefined when the run ended meanwhile. */
  async run(i: number, node: Fused, segs: readonly Segment[]): Promise<FusedResult | undefined> {
    const { policy, evaluator, ioGate, staging, done } = this.#p;
    const local = new StepValues();
    const lanes: string[] = [];
    let inlineCpu = false;
    // held from before a fetch whose bytes go to a cpu step until they are handed to a worker
    let ticket: StagingTicket | undefined;
    try {
      for (let k = 0; k < segs.length; k++) {
        const seg = segs[k]!;
        if (done()) return undefined;
        if (seg.lane === "io") {
          if (segs[k + 1]?.lane === "cpu" && policy.threshold !== Infinity) {
            ticket = await new Promise<StagingTicket>((r) => staging.enter(i, r));
            if (done()) return undefined;
          }
          await new Promise<void>((r) => ioGate.submit(i, r));
          try {
            const p = evaluator.evalSteps(i, node, node.steps, seg.from, seg.to, local);
            if (isThenable(p)) await p;
          } finally {
            ioGate.release();
          }
          if (ticket !== undefined) staging.fetched(ticket, exportBytes(node, seg, local));
          lanes.push("io");
          continue;
        }
        if (seg.lane === "cpu" && policy.segmentToPool(i, node, seg, local) && (await this.#onPool(i, node, seg, local, ticket))) {
          lanes.push("pool");
        } else {
          if (ticket !== undefined) staging.leave(ticket);
          const start = performance.now();
          const p = evaluator.evalSteps(i, node, node.steps, seg.from, seg.to, local);
          if (isThenable(p)) await p;
          if (seg.lane === "cpu") {
            opCosts.record(seg.id, performance.now() - start);
            inlineCpu = true;
          }
          lanes.push("inline");
        }
        if (ticket !== undefined) {
          staging.leave(ticket);
          ticket = undefined;
        }
      }
    } finally {
      if (ticket !== undefined) staging.leave(ticket);
    }
    if (done()) return undefined;
    const last = node.steps[node.steps.length - 1]!.key;
    const value = local.get(last);
    if (inlineCpu) this.#recycleSteps(node, local, last, value);
    return { value, lanes: lanes.join("+") };
  }

  /**
   * Give the buffers of the node's inner step values back to `takeBuffer` (buffers.ts): a
   * decoded chunk that the step after it copied from dies here, and the next decode of its size
   * reuses its pages instead of faulting fresh ones in. Kept: any buffer the node's value or one
   * of its inputs views, and everything when one of those is an object the walk cannot see into.
   */
  #recycleSteps(node: Fused, local: StepValues, last: Key, value: unknown): void {
    const keep = viewedBuffers(value);
    if (keep === undefined) return;
    const { store } = this.#p;
    for (const d of node.dependencies) if (viewedBuffers(store.lookup(d), keep) === undefined) return;
    local.forEachExcept(last, (v) => {
      if (typeof v !== "object" || v === null) return;
      const bufs = viewedBuffers(v);
      if (bufs === undefined) return;
      for (const b of bufs) if (b.byteLength >= RECYCLE_MIN && !keep.has(b) && b instanceof ArrayBuffer) recycleBuffer(b);
    });
  }

  /**
   * Run a cpu segment on the pool; false when it should run inline after all (its op proved
   * cheap). `ticket`: the task's place in the staging bound, left when the message is built.
   */
  async #onPool(i: number, node: Fused, seg: Segment, local: StepValues, ticket: StagingTicket | undefined): Promise<boolean> {
    const { policy, pool, staging, requests, store } = this.#p;
    let res: WorkerResponse | undefined;
    const bytes = policy.segmentBytes(i, node, seg, local);
    const bySize = bytes >= policy.threshold;
    try {
      res = await new Promise<WorkerResponse | undefined>((resolve, reject) => {
        pool.submit({
          i,
          bytes,
          build: (transfer, message) => {
            if (ticket !== undefined) staging.leave(ticket);
            requests.segment(node, seg, local, transfer, message);
          },
          settle: (r, e) => (r === undefined ? reject(e) : resolve(r)),
          reconsider: bySize ? undefined : () => !opCosts.slow(seg.id),
          runInline: () => resolve(undefined),
        });
      });
    } catch (e) {
      throw new TaskError(node.key, opName(node.steps[seg.from]!.op), e, node.steps[seg.from]!.key);
    }
    if (res === undefined) return false;
    if (res.ok === 0) {
      const step = node.steps[seg.from + res.i]!;
      throw new TaskError(node.key, opName(step.op), workerError(res), step.key);
    }
    if (res.ok === 1) {
      opCosts.record(seg.id, res.t);
      store.own(res.v);
      if (onlyLastExported(seg)) local.set(node.steps[seg.to - 1]!.key, res.v);
      else {
        const vs = res.v as unknown[];
        seg.exports.forEach((s, j) => local.set(node.steps[s]!.key, vs[j]));
      }
    }
    return true;
  }
}

/** Bytes of the values a segment hands on. */
function exportBytes(node: Fused, seg: Segment, local: StepValues): number {
  let n = 0;
  for (const s of seg.exports) n += sizeOf(local.get(node.steps[s]!.key));
  return n;
}
