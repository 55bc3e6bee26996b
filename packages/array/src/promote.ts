import type { DataType } from "./dtype.js";

/**
 * numpy's dtype promotion, for the dtypes zask has (no float16, no complex).
 *
 * Scalars follow NEP 50, numpy ≥ 2's rules (chosen over numpy 1.x's value-based casting
 * because the result dtype then depends on dtypes only, never on values): a JS number or
 * boolean is a "weak" Python scalar. An integer-valued number acts as a Python `int`, any
 * other number (1.5, NaN, Infinity) as a Python `float`, a boolean as a Python `bool`:
 *
 * - `int8 array + 1` → int8 (`+ 300` is a RangeError, as numpy 2's OverflowError);
 * - `int8 array + 1.5` → float64; `float32 array + 1.5` → float32;
 * - `bool array + 1` → int64; `anything + true` → the array's dtype.
 *
 * JS cannot tell `2.0` from `2`, so `int8 array * 2.0` stays int8 where Python would give float64.
 */

/** How a dtype computes: `bool`, integer (`int`, `uint`), `float`, or not numeric. */
export type DtypeKind = "bool" | "int" | "uint" | "float" | "string";

/**
 * The kind of `dtype`.
 *
 * @example
 * ```ts
 * kindOf("uint16"); // "uint"
 * ```
 */
export function kindOf(dtype: DataType): DtypeKind {
  if (dtype === "bool" || dtype === "string") return dtype;
  if (dtype.startsWith("float")) return "float";
  return dtype.startsWith("uint") ? "uint" : "int";
}

/**
 * Bits of a numeric dtype (bool counts as 1).
 *
 * @example
 * ```ts
 * bitsOf("int16"); // 16
 * ```
 */
export function bitsOf(dtype: DataType): number {
  if (dtype === "bool") return 1;
  return Number(/\d+$/.exec(dtype)?.[0] ?? 0);
}

/**
 * numpy's `np.result_type(a, b)` for two array dtypes.
 *
 * @example
 * ```ts
 * promoteTypes("int8", "uint8"); // "int16"
 * promoteTypes("int32", "float32"); // "float64"
 * ```
 */
export function promoteTypes(a: DataType, b: DataType): DataType {
  if (a === b) return a;
  if (a === "string" || b === "string") {
    throw new TypeError(`Expected numeric dtypes, got \`${a}\` and \`${b}\``);
  }
  if (a === "bool") return b;
  if (b === "bool") return a;
  const ka = kindOf(a);
  const kb = kindOf(b);
  const ba = bitsOf(a);
  const bb = bitsOf(b);
  if (ka === "float" || kb === "float") {
    if (ka === "float" && kb === "float") return ba >= bb ? a : b;
    const [f, i] = ka === "float" ? [a, bb] : [b, ba];
    // int8/16 and uint8/16 fit a float32 exactly; wider integers need float64
    return i <= 16 ? f : "float64";
  }
  if (ka === kb) return ba >= bb ? a : b;
  const [ub, sb] = ka === "uint" ? [ba, bb] : [bb, ba];
  if (ub < sb) return `int${sb}` as DataType;
  if (ub === 64) return "float64";
  return `int${Math.max(ub * 2, sb)}` as DataType;
}

/** The kind of a JS scalar as a Python scalar (NEP 50's weak scalars). */
export type ScalarKind = "bool" | "int" | "float";

/**
 * `true` → bool, an integer-valued number → int, any other number → float.
 *
 * @example
 * ```ts
 * scalarKind(2); // "int"
 * scalarKind(0.5); // "float"
 * ```
 */
export function scalarKind(value: number | boolean | bigint): ScalarKind {
  if (typeof value === "boolean") return "bool";
  if (typeof value === "bigint") return "int";
  return Number.isInteger(value) ? "int" : "float";
}

const defaults = { bool: "bool", int: "int64", float: "float64" } as const;

/**
 * Integer range of an integer dtype, as bigints.
 *
 * @example
 * ```ts
 * integerRange("int8"); // [-128n, 127n]
 * ```
 */
export function integerRange(dtype: DataType): [bigint, bigint] {
  const bits = BigInt(bitsOf(dtype));
  return kindOf(dtype) === "uint" ? [0n, (1n << bits) - 1n] : [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n];
}

/**
 * numpy ≥ 2's `result_type` over array dtypes and weak Python scalars (NEP 50). With no
 * array dtype, the scalars take numpy's defaults (bool, int64, float64).
 *
 * @example
 * ```ts
 * resultType(["int8"], [1]); // "int8"
 * resultType(["int8"], [1.5]); // "float64"
 * resultType(["bool"], [2]); // "int64"
 * ```
 */
export function resultType(dtypes: readonly DataType[], scalars: readonly (number | boolean | bigint)[] = []): DataType {
  let out: DataType | undefined;
  for (const d of dtypes) out = out === undefined ? d : promoteTypes(out, d);
  let top: ScalarKind = "bool";
  const rank = { bool: 0, int: 1, float: 2 } as const;
  for (const s of scalars) {
    const k = scalarKind(s);
    if (rank[k] > rank[top]) top = k;
  }
  if (out === undefined) return defaults[top];
  if (out === "string") throw new TypeError(`Expected a numeric dtype, got \`string\``);
  const kind = kindOf(out);
  if (top === "float" && kind !== "float") return "float64";
  if (top === "int" && kind === "bool") return "int64";
  return out;
}

/**
 * Throw numpy 2's OverflowError (as a RangeError) when an integer scalar does not fit the
 * integer dtype it is weakly cast to.
 *
 * @example
 * ```ts
 * checkScalarFits(300, "int8"); // throws RangeError
 * ```
 */
export function checkScalarFits(value: number | boolean | bigint, dtype: DataType): void {
  if (typeof value === "boolean" || scalarKind(value) !== "int") return;
  const kind = kindOf(dtype);
  if (kind !== "int" && kind !== "uint") return;
  const [lo, hi] = integerRange(dtype);
  const v = BigInt(value);
  if (v < lo || v > hi) {
    throw new RangeError(`Expected a scalar within ${dtype}'s range [${lo}, ${hi}], got \`${String(value)}\``);
  }
}

/**
 * The float dtype that sqrt, exp, log and log1p of `dtype` give.
 *
 * @example
 * ```ts
 * floatFor("int32"); // "float64"
 * floatFor("uint8"); // "float32" (numpy: float16)
 * ```
 */
export function floatFor(dtype: DataType): DataType {
  const kind = kindOf(dtype);
  if (kind === "float") return dtype;
  // numpy picks float16 for 8-bit inputs; zask has no float16 and uses float32 instead
  return bitsOf(dtype) <= 16 ? "float32" : "float64";
}
