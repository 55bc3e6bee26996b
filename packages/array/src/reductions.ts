import type { Array } from "./array.js";
import type { DataType } from "./dtype.js";

/** Names of the reductions. */
export type ReductionKind =
  | "sum" | "mean" | "min" | "max" | "var" | "std" | "countNonzero" | "any" | "all" | "argmin" | "argmax";

/** Options of every reduction method (`x.mean({ axis: 0 })`). */
export interface ReductionOptions {
  /** Axis or axes to reduce; all when omitted. Negative counts from the end. */
  axis?: number | readonly number[];
  /** Keep reduced axes with length 1. @default false */
  keepdims?: boolean;
  /** How many blocks each tree-reduction step combines. @default 4 */
  splitEvery?: number;
  /** Accumulator / result dtype, as numpy's `dtype=`. */
  dtype?: DataType;
  /** Delta degrees of freedom for `var`/`std`. @default 0 */
  ddof?: number;
}

/** A tree reduction of `x`. (stub: being written) */
export function reduction(x: Array, kind: ReductionKind, options: ReductionOptions = {}): Array {
  void x; void options;
  throw new Error(`reduction ${kind} is not written yet`);
}
