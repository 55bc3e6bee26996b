import { DataNode, Graph, MaterializedLayer, Task, op, ref } from "@zask/graph";
import { IoLane, checkTaskMemory, compute as run, type CoalesceOptions } from "@zask/scheduler";
import type { Array } from "./array.js";
import { makeArray } from "./array-factory.js";
import { withRepr, type ComputedArray } from "./computed-array.js";
import type { NDArray } from "./dtype.js";
import { releaseReadSessions, withReadSessions, type ReadSessionOptions } from "./read-sessions.js";
import { graphTaskMemory, wholeBytes } from "./task-memory.js";

/**
 * Options of `compute()` and `persist()`: the scheduler's (`scheduler`, `httpConcurrency`,
 * `signal`, …), and `coalesce`, the read planner's thresholds for ranged reads (sharded arrays):
 * merge ranges of one object across gaps of at most `maxGap` bytes into requests of at most
 * `maxBytes` (default: `maxGap` measured per origin as round-trip time × bandwidth, `maxBytes` 32 MiB).
 * `maxTaskMemory` (bytes) refuses, before anything runs, a graph whose largest task the plan
 * projects to need more (`plan().memory`; a `TaskMemoryError` names it), whatever the scheduler.
 */
export type ComputeOptions = NonNullable<Parameters<typeof run>[2]> & { readonly coalesce?: CoalesceOptions; readonly maxTaskMemory?: number };

/** Throw a `TaskMemoryError` when a task of computing `keys` would need more than `limit` bytes. */
function checkMemory(graph: Graph, keys: readonly string[], options: ComputeOptions, final?: ReadonlyMap<string, number | undefined>): void {
  const limit = options.maxTaskMemory;
  if (limit === undefined) return;
  const o = options.optimize;
  const fused = o !== false && (typeof o !== "object" || o.fuse !== false);
  checkTaskMemory(graphTaskMemory(graph, keys, fused, final), limit);
}

const assembleOp = op("@zask/array/ops", "assemble", { lane: "inline" });

/** The graph of `x` plus one task that assembles its blocks, and that task's key. */
export function finalizeGraph(x: Array): { graph: Graph; key: string } {
  const key = `finalize-${x.name}`;
  const keys = x.keys();
  const task = new Task(key, assembleOp, [keys.map(ref), x.chunks.map((c) => [...c]), x.dtype, keys]);
  return { graph: x.graph.withLayer(new MaterializedLayer(key, [task]), [x.name]), key };
}

/**
 * The read sessions' options of a compute: on this machine's lanes (not a distributed
 * executor's workers), shard indexes are read as the compute starts, through a lane with the
 * compute's HTTP settings.
 */
function sessionOptions(coalesce: CoalesceOptions | undefined, rest: Omit<ComputeOptions, "coalesce">): ReadSessionOptions {
  const local = rest.scheduler === undefined || typeof rest.scheduler === "string";
  const { httpConcurrency, http2, retries, retryDelay, timeout, deadline, signal } = rest;
  // a signal of its own: the lane listens to it, and a caller's signal may serve many computes
  const lane = () => new IoLane({ httpConcurrency, http2, retries, retryDelay, timeout, deadline, signal: signal && AbortSignal.any([signal]) });
  return { coalesce, httpConcurrency, prefetch: local ? lane : undefined };
}

/** `x.compute()`: run the graph, assemble the blocks into one C-order array. */
export async function computeArray(x: Array, options: ComputeOptions): Promise<ComputedArray> {
  const [value] = await computeArrays([x], options);
  return value!;
}

/**
 * Compute several arrays at once, as dask's `dask.compute(a, b, …)`: one run of their merged
 * graphs, so a task they share runs once and all their requests share one I/O lane and its
 * waves. Each comes back as its own `compute()` would give it.
 *
 * @example
 * ```ts
 * const [means, counts] = await computeArrays([x.mean({ axis: 0 }), x.countNonzero({ axis: 0 })]);
 * ```
 */
export async function computeArrays(arrays: readonly Array[], options: ComputeOptions = {}): Promise<ComputedArray[]> {
  const finals = arrays.map(finalizeGraph);
  const graph = finals.length === 1 ? finals[0]!.graph : Graph.merge(...finals.map((f) => f.graph));
  const keys = finals.map((f) => f.key);
  checkMemory(graph, keys, options, new Map(finals.map((f, i) => [f.key, wholeBytes(arrays[i]!)])));
  const { coalesce, maxTaskMemory: _, ...rest } = options;
  const sessions = withReadSessions(graph, keys, sessionOptions(coalesce, rest));
  const values = await run(sessions, keys, rest);
  releaseReadSessions(sessions);
  return values.map((v) => withRepr(v as NDArray));
}

/** `x.persist()`: compute every block, keep them in a graph of data nodes. */
export async function persistArray(x: Array, options: ComputeOptions): Promise<Array> {
  const keys = x.keys();
  checkMemory(x.graph, keys, options);
  const { coalesce, maxTaskMemory: _, ...rest } = options;
  const sessions = withReadSessions(x.graph, keys, sessionOptions(coalesce, rest));
  const values = await run(sessions, keys, rest);
  releaseReadSessions(sessions);
  const nodes = keys.map((k, i) => new DataNode(k, values[i]));
  return makeArray(Graph.fromLayer(new MaterializedLayer(x.name, nodes, { persisted: true })), x.name, x.chunks, x.dtype);
}
