import type { Key } from "@zask/graph";

/**
 * One task as a distributed executor carries it: its key and its payload, the task with its
 * dependencies' values, serialized by {@link encodeTask} (a Buffer of V8's serialization, so
 * typed arrays travel losslessly).
 */
export interface TaskJob {
  readonly key: Key;
  /** The printable name of the task's (first) op, for errors and logs. */
  readonly op: string;
  readonly payload: Uint8Array;
}

/** One compute's use of an {@link Executor}: jobs submitted, their results awaited. */
export interface ExecutorSession {
  /**
   * Run `job` somewhere and resolve with its encoded result (decode it with
   * {@link decodeResult}); reject with a `TaskError` when the task failed for good, or an
   * `ExecutorUnavailableError` when the executor cannot be reached.
   */
  submit(job: TaskJob): Promise<Uint8Array | ScratchRef>;
  /** End the session: `aborted` removes its jobs that are still waiting. */
  close(aborted: boolean): Promise<void>;
}

/** A value a worker wrote to the shared scratch directory instead of returning it. */
export interface ScratchRef {
  readonly scratch: string;
  readonly bytes: number;
}

/**
 * Something that runs a compute's tasks elsewhere (see `bullmq()`): the client side still
 * culls, fuses and orders the graph, then submits ready tasks, at most `maxInFlight` at once.
 *
 * @example
 * ```ts
 * const cluster = bullmq({ connection: "redis://127.0.0.1:6379" });
 * await compute(graph, keys, { scheduler: cluster });
 * ```
 */
export interface Executor {
  readonly kind: "executor";
  /** Tasks submitted and not yet finished, at most. */
  readonly maxInFlight: number;
  /** Start one compute's session. */
  open(options: { signal?: AbortSignal | undefined }): Promise<ExecutorSession>;
}

/** Whether `x` is an {@link Executor}. */
export function isExecutor(x: unknown): x is Executor {
  return typeof x === "object" && x !== null && (x as Executor).kind === "executor" && typeof (x as Executor).open === "function";
}
