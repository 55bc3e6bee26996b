/** The messages between the scheduler and its pool's workers (internal). */

/** One op call in a worker. `a` holds values, except {@link INNER_REF} markers to earlier steps. */
export interface WorkerStep {
  /** Module URL (already resolved in the main thread). */
  readonly m: string;
  /** Export name. */
  readonly n: string;
  /** The step's key (for markers and error reports). */
  readonly k: string;
  /** Arguments. */
  readonly a: readonly unknown[];
}

export interface WorkerRequest {
  readonly s: readonly WorkerStep[];
  /** Step indices whose values come back (the last step's always does, last in the list). */
  readonly x: readonly number[] | null;
  /** Whether arguments hold markers to resolve. */
  readonly r: boolean;
  /** The compute's cancellation cell: non-zero means drop the task unrun. */
  readonly c: Int32Array | undefined;
}

/** Several requests in one message; the answer is the array of their responses. */
export interface WorkerBatch {
  readonly b: readonly WorkerRequest[];
}

export type WorkerResponse =
  /** `t`: time spent in the ops, ms (for the scheduler's cost model). */
  | { readonly ok: 1; readonly v: unknown; readonly t: number }
  | { readonly ok: 0; readonly i: number; readonly e: unknown; readonly name: string; readonly message: string }
  | { readonly ok: 2 };

/** Marker key of an argument that refers to an earlier step of the same message. */
export const INNER_REF = "\u0000zask.ref";
