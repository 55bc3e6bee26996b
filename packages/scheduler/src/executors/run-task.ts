import { Graph, Task, opName, substitute, type Key, type OpRef } from "@zask/graph";
import { TaskError } from "../errors.js";
import { compute, type ComputeOptions } from "../compute.js";
import { DEFAULT_INLINE_THRESHOLD } from "../inline-threshold.js";
import { loadOp } from "../op-registry.js";
import { sizeOf } from "../size-of.js";
import { decodeTask, encodeResult } from "./task-codec.js";

/** Options of {@link runTask}: the local compute's (its I/O lane and pool). */
export type RunTaskOptions = Omit<ComputeOptions, "scheduler" | "optimize" | "callbacks" | "progress">;

/**
 * Run one job's task on this process (its I/O lane and worker pool, as a local compute of
 * one node) and return its encoded value: what a distributed worker does with each job.
 *
 * @example
 * ```ts
 * const bytes = await runTask(job.payload, { httpConcurrency: 16 });
 * ```
 */
export async function runTask(payload: Uint8Array, options: RunTaskOptions = {}): Promise<Uint8Array> {
  const { node, deps } = await decodeTask(payload);
  // a light cpu task runs right here, as a local compute would run it inline, without the
  // setup of a compute (lanes, plan) that would cost more than the task
  if (node instanceof Task && typeof node.op !== "function" && node.op.lane === "cpu") {
    const values = new Map<Key, unknown>(deps.map((d) => [d.key, d.value]));
    let bytes = 0;
    for (const v of values.values()) bytes += sizeOf(v);
    if (bytes < (options.inlineThreshold ?? DEFAULT_INLINE_THRESHOLD) && node.dependencies.every((k) => values.has(k))) {
      let out: unknown;
      try {
        const fn = await loadOp(node.op as OpRef);
        out = await fn(...substitute(node.args, (k) => values.get(k)));
      } catch (e) {
        throw new TaskError(node.key, opName(node.op), e);
      }
      return encodeResult(out, node.key);
    }
  }
  const [value] = await compute(Graph.fromNodes(node.key, [...deps, node]), [node.key], { ...options, optimize: false, progress: false });
  return encodeResult(value, node.key);
}
