import type { Key } from "@zask/graph";
import type { IoStats } from "./io-lane.js";

/** Where a task ran: `data` (a literal or alias), `inline` (main thread), `io`, `pool`; fused tasks join theirs with `+`. */
export type TaskLane = string;

/** What {@link Callbacks.start} receives. */
export interface StartInfo {
  /** The requested keys. */
  readonly keys: readonly Key[];
  /** Tasks to run after optimization. */
  readonly tasks: number;
  readonly scheduler: "threads" | "sync" | "distributed";
}

/** What {@link Callbacks.posttask} receives. */
export interface TaskInfo {
  readonly key: Key;
  readonly lane: TaskLane;
  /** `performance.now()` when the task started, ms. */
  readonly start: number;
  /** Wall time from start to result, ms (for pool tasks, including the trip to the worker). */
  readonly duration: number;
  /** Bytes of the task's dependencies' values ({@link sizeOf}). */
  readonly bytesIn: number;
  /** Bytes of its result. */
  readonly bytesOut: number;
  /** Bytes held by all results after this one was stored and its inputs released. */
  readonly heldBytes: number;
}

/** What {@link Callbacks.finish} receives. */
export interface FinishInfo {
  readonly errored: boolean;
  readonly error: unknown;
  /** Tasks that completed. */
  readonly completed: number;
  readonly tasks: number;
  /** Wall time of the run, ms (optimization excluded). */
  readonly elapsed: number;
  /** The most bytes held by results at once. */
  readonly peakHeldBytes: number;
  /** Counters of the I/O lane. */
  readonly io: Readonly<IoStats>;
}

/**
 * Hooks into a compute, in dask's shape (`start`, `pretask`, `posttask`, `finish`). Every hook
 * is optional; hooks run on the main thread and must be quick.
 *
 * @example
 * ```ts
 * let done = 0;
 * await compute(graph, keys, { callbacks: [{ posttask: () => done++ }] });
 * ```
 */
export interface Callbacks {
  start?(info: StartInfo): void;
  pretask?(key: Key): void;
  posttask?(key: Key, value: unknown, info: TaskInfo): void;
  finish?(info: FinishInfo): void;
}
