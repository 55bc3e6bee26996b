import type { Array } from "./array.js";
import type { DataType } from "./dtype.js";

/** Names of the elementwise operations. */
export type ElementwiseOp =
  | "add" | "sub" | "mul" | "div" | "pow" | "neg" | "abs" | "sqrt" | "exp" | "log" | "log1p"
  | "gt" | "lt" | "ge" | "le" | "eq" | "ne";

/** An operand: a lazy array or a scalar. */
export type Operand = Array | number | boolean;

/** Apply `name` elementwise with numpy broadcasting and dtype promotion. (stub: being written) */
export function elementwise(name: ElementwiseOp, ...operands: Operand[]): Array {
  throw new Error(`elementwise ${name} is not written yet (${operands.length} operands)`);
}

/** `cond ? x : y` elementwise, broadcasting all three. (stub: being written) */
export function where(cond: Operand, x: Operand, y: Operand): Array {
  void cond; void x; void y;
  throw new Error("where is not written yet");
}

/** Cast to `dtype`. (stub: being written) */
export function astype(x: Array, dtype: DataType): Array {
  void x; void dtype;
  throw new Error("astype is not written yet");
}
