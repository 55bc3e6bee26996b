import { Graph } from "@zask/graph";
import { compute, type ComputeOptions } from "../compute.js";
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
  const [value] = await compute(Graph.fromNodes(node.key, [...deps, node]), [node.key], { ...options, optimize: false, progress: false });
  return encodeResult(value, node.key);
}
