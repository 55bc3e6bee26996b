import { inspect } from "node:util";
import type { DataType } from "./ndarray.js";

/** The dtypes of a {@link NumericScalar}: every numeric dtype (booleans read as `boolean`). */
export type ScalarDataType = Exclude<DataType, "string" | "bool">;

const INT_RANGES: Partial<Record<ScalarDataType, readonly [bigint, bigint]>> = {
  int8: [-(2n ** 7n), 2n ** 7n - 1n],
  int16: [-(2n ** 15n), 2n ** 15n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint8: [0n, 2n ** 8n - 1n],
  uint16: [0n, 2n ** 16n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

/**
 * A numeric scalar with its dtype, as numpy's `np.float32(2.5)` or `np.uint64(2**63 + 5)`: what
 * an `encoding-type: numeric-scalar` element (usually in `uns`) reads as, so that writing it
 * back keeps its dtype exactly. `value` is exact: a `bigint` for int64/uint64, a number
 * otherwise. It converts to a number where JavaScript expects one (`+s`, `s > 1`, `s == 42`;
 * 64-bit values beyond 2^53 round there), but `s === 42` is false: compare `s.value`.
 *
 * A 0-d array stored with `encoding-type: array` (numpy's `np.array(7)`) reads as a 0-d
 * `{data, shape: [], dtype}` instead, and is written back as `array`; plain JavaScript numbers
 * are written as int64 (integers) or float64, booleans as bool, bigints as int64.
 *
 * @example
 * ```ts
 * const t = adata.uns.threshold as NumericScalar; // NumericScalar { dtype: "float32", value: 0.25 }
 * Number(t.value) * 2;                             // 0.5
 * new NumericScalar(2n ** 63n + 5n, "uint64");     // written back as "<u8", exactly
 * ```
 */
export class NumericScalar {
  readonly value: number | bigint;
  readonly dtype: ScalarDataType;

  constructor(value: number | bigint, dtype: ScalarDataType) {
    const range = INT_RANGES[dtype];
    if (dtype !== "float32" && dtype !== "float64" && range === undefined) {
      throw new RangeError(`Expected \`dtype\` to be a numeric dtype other than bool, got \`${String(dtype)}\``);
    }
    if (typeof value !== "number" && typeof value !== "bigint") {
      throw new TypeError(`Expected \`value\` to be a number or bigint, got \`${String(value)}\` (${typeof value})`);
    }
    if (range !== undefined) {
      if (typeof value === "number" && !Number.isSafeInteger(value)) {
        throw new RangeError(`Expected \`value\` of a ${dtype} scalar to be a safe integer or a bigint, got \`${value}\``);
      }
      const big = BigInt(value);
      if (big < range[0] || big > range[1]) throw new RangeError(`Expected \`value\` within ${dtype}'s range [${range[0]}, ${range[1]}], got \`${big}\``);
      this.value = dtype === "int64" || dtype === "uint64" ? big : Number(big);
    } else {
      const n = Number(value);
      this.value = dtype === "float32" ? Math.fround(n) : n;
    }
    this.dtype = dtype;
  }

  /** The value as a number (64-bit integers beyond 2^53 round). */
  valueOf(): number {
    return Number(this.value);
  }

  toString(): string {
    return String(this.value);
  }

  /** A number, or a decimal string for a 64-bit integer a number cannot hold exactly. */
  toJSON(): number | string {
    return typeof this.value === "bigint" && (this.value > BigInt(Number.MAX_SAFE_INTEGER) || this.value < BigInt(Number.MIN_SAFE_INTEGER))
      ? this.value.toString()
      : Number(this.value);
  }

  [inspect.custom](): string {
    return `NumericScalar<${this.dtype}>(${String(this.value)})`;
  }
}
