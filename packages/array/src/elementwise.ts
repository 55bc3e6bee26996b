import { Blockwise, Graph, blockwiseInput, op, tokenize } from "@zask/graph";
import type { Array as LazyArray } from "./array.js";
import { isArray, makeArray } from "./array-factory.js";
import { unifyChunks } from "./broadcast.js";
import { rechunkWith } from "./rechunk.js";
import type { DataType } from "./dtype.js";
import { isDataType } from "./dtype.js";
import { checkScalarFits, floatFor, kindOf, resultType } from "./promote.js";

/** Names of the elementwise operations. */
export type ElementwiseOp = "add" | "sub" | "mul" | "div" | "pow" | "neg" | "abs" | "sqrt" | "exp" | "log" | "log1p" | "gt" | "lt" | "ge" | "le" | "eq" | "ne";

/** An operand: a lazy array or a scalar (a bigint acts as a Python int, exact for 64-bit integers). */
export type Operand = LazyArray | number | bigint | boolean;

const arity: Record<ElementwiseOp, 1 | 2> = {
  add: 2,
  sub: 2,
  mul: 2,
  div: 2,
  pow: 2,
  neg: 1,
  abs: 1,
  sqrt: 1,
  exp: 1,
  log: 1,
  log1p: 1,
  gt: 2,
  lt: 2,
  ge: 2,
  le: 2,
  eq: 2,
  ne: 2,
};
const comparisons = new Set<string>(["gt", "lt", "ge", "le", "eq", "ne"]);

const elementwiseOp = op("@zask/array/ops", "elementwise", { lane: "cpu" });
const whereOp = op("@zask/array/ops", "where", { lane: "cpu" });
const astypeOp = op("@zask/array/ops", "astype", { lane: "cpu" });

const SYMBOLS = "abcdefghijklmnopqrstuvwxyz";

function describe(x: unknown): string {
  return `\`${String(x)}\` (${isArray(x) ? "Array" : typeof x})`;
}

function checkOperand(x: unknown, what: string): asserts x is Operand {
  if (isArray(x)) {
    if (x.dtype === "string") throw new TypeError(`Expected ${what} to have a numeric dtype, got \`string\``);
    return;
  }
  if (typeof x === "boolean" || typeof x === "number" || typeof x === "bigint") return;
  throw new TypeError(`Expected ${what} to be an Array, a number, a bigint or a boolean, got ${describe(x)}`);
}

/** The result dtype of `name` over inputs promoted to `t` (numpy's ufunc type resolution). */
function outputDtype(name: ElementwiseOp, t: DataType): DataType {
  const kind = kindOf(t);
  switch (name) {
    case "sub":
    case "neg":
      if (kind === "bool") {
        throw new TypeError(
          `Expected numeric operands for \`${name}\`, got bool (numpy does not ${name === "sub" ? "subtract" : "negate"} booleans; use ne or astype)`,
        );
      }
      return t;
    case "div":
      return kind === "float" ? t : "float64";
    case "pow":
      return kind === "bool" ? "int8" : t;
    case "sqrt":
    case "exp":
    case "log":
    case "log1p":
      return floatFor(t);
    default:
      return comparisons.has(name) ? "bool" : t;
  }
}

/** A scalar as the kernel reads it, cast into the output's arithmetic. */
export function castScalar(value: number | bigint | boolean, dtype: DataType): number | bigint {
  const v = typeof value === "boolean" ? (value ? 1 : 0) : value;
  if (dtype === "int64" || dtype === "uint64") return BigInt(v);
  if (dtype === "float32") return Math.fround(Number(v));
  return Number(v);
}

/**
 * Blockwise over `operands` (arrays and scalars) with numpy broadcasting: arrays are brought
 * to common block boundaries first, then block `index` of the result calls
 * `kernel(...head, ...operand blocks and scalars)`.
 */
function blockwiseOver(opName: string, kernel: typeof elementwiseOp, head: unknown[], operands: readonly unknown[], dtype: DataType): LazyArray {
  const arrays = operands.filter((o): o is LazyArray => isArray(o));
  const unified = unifyChunks(arrays.map((a) => a.chunks));
  const inputs = arrays.map((a, i) => rechunkWith(a, unified.operands[i]!));
  const ndim = unified.chunks.length;
  if (ndim > SYMBOLS.length) throw new RangeError(`Expected at most ${SYMBOLS.length} axes, got ${ndim}`);
  const outIndex = SYMBOLS.slice(0, ndim);
  let k = 0;
  const args = operands.map((o) => {
    if (!isArray(o)) return o;
    const a = inputs[k++]!;
    return blockwiseInput(a.name, outIndex.slice(ndim - a.ndim), a.numBlocks);
  });
  const name = `${opName}-${tokenize(
    opName,
    head,
    operands.map((o) => (isArray(o) ? o.name : o)),
    dtype,
  )}`;
  const layer = new Blockwise({
    name,
    outIndex,
    numBlocks: unified.chunks.map((c) => c.length),
    op: kernel,
    args: [...head, ...args],
  });
  const graph = Graph.merge(...inputs.map((a) => a.graph)).withLayer(layer, [...new Set(inputs.map((a) => a.name))]);
  return makeArray(graph, name, unified.chunks, dtype);
}

/**
 * Apply `name` elementwise with numpy broadcasting and dtype promotion (numpy ≥ 2 / NEP 50
 * rules for scalars, see promote.ts). Arithmetic: `add sub mul div pow neg abs sqrt exp log
 * log1p`; comparisons `gt lt ge le eq ne` give bool. `div` is true division (integers give
 * float64); integer results wrap around like numpy's; `sqrt`/`exp`/`log`/`log1p` of 8- and
 * 16-bit integers give float32 (numpy gives float16, which zask lacks). Operands with
 * different chunks are rechunked to common boundaries first (dask's unify_chunks).
 *
 * @example
 * ```ts
 * const y = elementwise("add", x, 1);          // x + 1, x's dtype
 * const m = elementwise("gt", x, y);           // bool
 * const z = elementwise("div", x.astype("int32"), 2); // float64
 * ```
 */
export function elementwise(name: ElementwiseOp, ...operands: Operand[]): LazyArray {
  if (!Object.prototype.hasOwnProperty.call(arity, name)) {
    throw new RangeError(`Expected an elementwise op (${Object.keys(arity).join(", ")}), got \`${String(name)}\``);
  }
  if (operands.length !== arity[name]) {
    throw new TypeError(`Expected ${arity[name]} operand${arity[name] === 1 ? "" : "s"} for \`${name}\`, got ${operands.length}`);
  }
  operands.forEach((o, i) => checkOperand(o, `operand ${i} of \`${name}\``));
  const arrays = operands.filter((o): o is LazyArray => isArray(o));
  if (arrays.length === 0) throw new TypeError(`Expected at least one Array operand for \`${name}\`, got only scalars`);
  const scalars = operands.filter((o): o is number | bigint | boolean => !isArray(o));
  const promoted = resultType(
    arrays.map((a) => a.dtype),
    scalars,
  );
  const out = outputDtype(name, promoted);
  if (comparisons.has(name) && kindOf(promoted) === "float") {
    // numpy compares in the promoted float type: a float32 array against float32(0.7), not 0.7,
    // and a 64-bit integer rounded to float64, as numpy rounds it, not exactly
    const values = operands.map((o) => (isArray(o) ? (o.dtype === "int64" || o.dtype === "uint64" ? astype(o, "float64") : o) : castScalar(o, promoted)));
    return blockwiseOver(name, elementwiseOp, [name, out], values, out);
  }
  if (comparisons.has(name)) {
    // numpy 2 compares Python ints exactly, even out of the array dtype's range
    // an integer scalar against a 64-bit integer array compares as a bigint: exact, and faster than mixed
    const big = arrays.some((a) => a.dtype === "int64" || a.dtype === "uint64");
    const values = operands.map((o) => {
      if (typeof o === "boolean") return o ? 1 : 0;
      if (typeof o === "number" && big && Number.isInteger(o)) return BigInt(o);
      return o;
    });
    return blockwiseOver(name, elementwiseOp, [name, out], values, out);
  }
  for (const s of scalars) checkScalarFits(s, promoted);
  if (name === "pow" && kindOf(out) !== "float") {
    const e = operands[1];
    if (typeof e === "number" && e < 0) throw new RangeError(`Expected a non-negative exponent for an integer power, got \`${e}\``);
  }
  const values = operands.map((o) => (isArray(o) ? o : castScalar(o, out)));
  return blockwiseOver(name, elementwiseOp, [name, out], values, out);
}

/**
 * `cond ? x : y` elementwise, broadcasting all three (numpy's `where`). The result dtype is
 * the promotion of `x` and `y` (weak scalars, NEP 50); `cond` is true where non-zero.
 *
 * @example
 * ```ts
 * where(elementwise("gt", x, 0), x, 0); // relu
 * ```
 */
export function where(cond: Operand, x: Operand, y: Operand): LazyArray {
  checkOperand(cond, "`cond`");
  checkOperand(x, "`x`");
  checkOperand(y, "`y`");
  if (![cond, x, y].some((o) => isArray(o))) throw new TypeError("Expected at least one Array among `cond`, `x`, `y`, got only scalars");
  const branches = [x, y];
  const out = resultType(
    branches.filter((o): o is LazyArray => isArray(o)).map((a) => a.dtype),
    branches.filter((o): o is number | bigint | boolean => !isArray(o)),
  );
  for (const s of branches) if (!isArray(s)) checkScalarFits(s, out);
  const c = isArray(cond) ? cond : cond ? 1 : 0;
  const values = [c, ...branches.map((o) => (isArray(o) ? o : castScalar(o, out)))];
  return blockwiseOver("where", whereOp, [out], values, out);
}

/**
 * Cast to `dtype` as numpy's `astype` does: floats truncate toward zero into integers,
 * integers wrap around, non-zero is `true`. The same array when the dtype already matches.
 *
 * @example
 * ```ts
 * astype(x, "float64");
 * ```
 */
export function astype(x: LazyArray, dtype: DataType): LazyArray {
  if (!isArray(x)) throw new TypeError(`Expected \`x\` to be an Array, got ${describe(x)}`);
  if (!isDataType(dtype) || dtype === "string") throw new TypeError(`Expected a numeric dtype name, got \`${String(dtype)}\``);
  if (x.dtype === dtype) return x;
  if (x.dtype === "string") throw new TypeError("Expected a numeric Array, got dtype `string`");
  return blockwiseOver("astype", astypeOp, [], [x, dtype], dtype);
}
