import { inspect } from "node:util";
import type { DataType, NDArray } from "./dtype.js";

/** The array type that holds the values of each dtype (as zarrita holds them). */
export interface DataTypeArrays {
  bool: Uint8Array;
  int8: Int8Array;
  int16: Int16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  uint16: Uint16Array;
  uint32: Uint32Array;
  uint64: BigUint64Array;
  float32: Float32Array;
  float64: Float64Array;
  string: string[];
}

/**
 * What `compute()` returns: an {@link NDArray} whose `data` type follows its `dtype`, so that
 * checking the dtype narrows the data without a cast. It prints like numpy's repr.
 *
 * @example
 * ```ts
 * import { ones } from "@zask/array";
 * const r = await ones([2, 3], { dtype: "float32" }).compute();
 * if (r.dtype === "float32") {
 *   const data: Float32Array = r.data;
 * }
 * console.log(String(r)); // array([[1, 1, 1], [1, 1, 1]], dtype=float32)
 * ```
 */
export type ComputedArray = { [D in DataType]: NDArray<DataTypeArrays[D]> & { readonly dtype: D } }[DataType];

/** Most elements printed in full; bigger arrays show their first and last 3 along each axis (numpy's threshold). */
const THRESHOLD = 1000;
const EDGE = 3;

function item(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

/** numpy's repr of an n-d array: `array([[1, 2], [3, 4]], dtype=int32)`, summarized past 1000 elements. */
export function formatNDArray(x: NDArray): string {
  const { data, shape, dtype } = x;
  const size = data.length;
  const summarize = size > THRESHOLD;
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const part = (axis: number, offset: number): string => {
    if (axis === shape.length) return item((data as ArrayLike<unknown>)[offset]);
    const n = shape[axis]!;
    const idx: (number | null)[] = [];
    if (summarize && n > 2 * EDGE) {
      for (let i = 0; i < EDGE; i++) idx.push(i);
      idx.push(null);
      for (let i = n - EDGE; i < n; i++) idx.push(i);
    } else {
      for (let i = 0; i < n; i++) idx.push(i);
    }
    return `[${idx.map((i) => (i === null ? "..." : part(axis + 1, offset + i * strides[axis]!))).join(", ")}]`;
  };
  return `array(${part(0, 0)}, dtype=${dtype}${size === 0 ? `, shape=(${shape.join(", ")}${shape.length === 1 ? "," : ""})` : ""})`;
}

/** `x` with a numpy-like `toString` and `util.inspect` (not enumerable: the value still compares as a plain {@link NDArray}). */
export function withRepr(x: NDArray): ComputedArray {
  const text = (): string => formatNDArray(x);
  Object.defineProperty(x, "toString", { value: text, enumerable: false, configurable: true, writable: true });
  Object.defineProperty(x, inspect.custom, { value: text, enumerable: false, configurable: true, writable: true });
  return x as ComputedArray;
}
