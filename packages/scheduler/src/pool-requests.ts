import { errorFromPlain, type PlainError } from "./error-transfer.js";
import { substitute, type Fused, type Key, type OpRef, type Task } from "@zask/graph";
import type { Segment } from "./fused-segments.js";
import type { OpTable } from "./main-evaluator.js";
import { resolveOpModule } from "./op-registry.js";
import type { Plan } from "./plan.js";
import type { StepValues } from "./step-values.js";
import { packForTransfer } from "./transfer.js";
import type { ValueStore } from "./value-store.js";
import { INNER_REF, type MessageWriter } from "./worker-protocol.js";

/**
 * Writes the worker requests of one run: a task's op and arguments, or the steps of a fused
 * segment, with each input buffer moved to the worker when the run alone holds it and this is
 * its last reader ({@link ValueStore.mayMove}), else copied.
 */
export class PoolRequests {
  readonly #plan: Plan;
  readonly #store: ValueStore;
  readonly #ops: OpTable;

  constructor(plan: Plan, store: ValueStore, ops: OpTable) {
    this.#plan = plan;
    this.#store = store;
    this.#ops = ops;
  }

  /** Write task `node` (op `op`) as a request of one step. */
  task(node: Task, op: OpRef, transfer: Set<ArrayBuffer>, message: MessageWriter): void {
    const { index } = this.#plan;
    const store = this.#store;
    const args = substitute(node.args, (k) => {
      const d = index.get(k)!;
      return packForTransfer(store.get(d), (buf) => store.mayMove(d, buf), transfer);
    });
    message.request(1, null);
    message.step(message.opIndex(this.#urlOf(op), op.name), args);
  }

  /** Write segment `seg` of fused node `node` as one request (`local`: the node's step values so far). */
  segment(node: Fused, seg: Segment, local: StepValues, transfer: Set<ArrayBuffer>, message: MessageWriter): void {
    const { index } = this.#plan;
    const store = this.#store;
    message.request(seg.to - seg.from, onlyLastExported(seg) ? null : seg.exports.map((s) => s - seg.from));
    const first = seg.from === 0 && seg.to === node.ops.length ? node.stepArgs(0) : undefined;
    if (first !== undefined) {
      // the whole node, from the arguments its source gives: no steps built, no keys compared
      let markers = 0;
      const outside = (k: Key): unknown => {
        const d = index.get(k)!;
        return packForTransfer(store.get(d), (buf) => store.mayMove(d, buf), transfer);
      };
      const inner = (e: number): unknown => {
        markers++;
        return innerRef(e);
      };
      for (let s = 0; s < seg.to; s++) {
        const op = node.ops[s] as OpRef;
        markers = 0;
        const args = substitute(s === 0 ? first : node.stepArgs(s)!, outside, inner);
        message.step(message.opIndex(this.#urlOf(op), op.name), args, markers);
      }
      return;
    }
    for (let s = seg.from; s < seg.to; s++) {
      const step = node.steps[s]!;
      const op = step.op as OpRef;
      let markers = 0;
      const args = substitute(step.args, (k) => {
        // an earlier step of this segment: a marker (segments are a few steps: a scan, no map)
        for (let e = s - 1; e >= seg.from; e--) {
          if (node.steps[e]!.key === k) {
            markers++;
            return innerRef(e - seg.from);
          }
        }
        const later = seg.usedLater.has(k);
        if (local.has(k)) {
          // a step's value is private to this task: moved if fresh (a worker's result or a body
          // the I/O lane fetched), unless a live value of the graph views the same buffer
          return packForTransfer(local.get(k), (buf) => !later && !store.viewed(buf) && store.movable(buf), transfer);
        }
        const d = index.get(k)!;
        return packForTransfer(store.get(d), (buf) => !later && store.mayMove(d, buf), transfer);
      });
      message.step(message.opIndex(this.#urlOf(op), op.name), args, markers);
    }
  }

  #urlOf(op: OpRef): string {
    return this.#ops.urls.get(op) ?? resolveOpModule(op.module);
  }
}

/** Whether a segment hands on only its last step's value (then a worker answers that value, not a list). */
export function onlyLastExported(seg: Segment): boolean {
  return seg.exports.length === 1 && seg.exports[0] === seg.to - 1;
}

/** The error a worker reported, rebuilt with its class, fields and cause (see error-transfer.ts). */
export function workerError(res: { e: unknown; name: string; message: string }): unknown {
  return isPlainError(res.e) ? errorFromPlain(res.e) : res.e;
}

function isPlainError(e: unknown): e is PlainError {
  return typeof e === "object" && e !== null && typeof (e as PlainError).name === "string" && typeof (e as PlainError).fields === "object";
}

const innerRefs: Readonly<Record<string, number>>[] = [];

/** The marker of a worker request's argument that is the value of its step `e` (shared, frozen). */
function innerRef(e: number): Readonly<Record<string, number>> {
  return (innerRefs[e] ??= Object.freeze({ [INNER_REF]: e }));
}
