// Helpers over @zask/array's dtypes for eager values.

import type { DataType, TypedArray } from "@zask/array";
export type { DataType, NDArray, TypedArray } from "@zask/array";

const ctors: Record<Exclude<DataType, "string">, { new (n: number): TypedArray; BYTES_PER_ELEMENT: number }> = {
  bool: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  float32: Float32Array,
  float64: Float64Array,
};

/** The typed-array constructor of a numeric dtype. */
export function typedArrayOf(dtype: Exclude<DataType, "string">): { new (n: number): TypedArray; BYTES_PER_ELEMENT: number } {
  return ctors[dtype];
}

/** The dtype of a typed array (`Uint8Array` counts as `uint8`). */
export function dtypeOf(data: TypedArray | string[]): DataType {
  if (Array.isArray(data)) return "string";
  for (const [name, ctor] of Object.entries(ctors)) if (name !== "bool" && data instanceof ctor) return name as DataType;
  throw new TypeError(`Expected a typed array or string[], got \`${Object.prototype.toString.call(data)}\``);
}

/** A typed array of `dtype` holding `values` (bigints for int64/uint64, numbers otherwise), each stored as the array stores it. */
export function typedArrayFrom(dtype: Exclude<DataType, "string">, values: readonly (number | bigint | boolean)[]): TypedArray {
  const out = new ctors[dtype](values.length);
  values.forEach((v, i) => {
    out[i] = v as never;
  });
  return out;
}

/** A typed array of `dtype` holding the one value `value` (bigint for int64/uint64, a number otherwise). */
export function typedArrayOfOne(dtype: Exclude<DataType, "string">, value: number | bigint): TypedArray {
  const out = new ctors[dtype](1);
  out[0] = (dtype === "int64" || dtype === "uint64" ? BigInt(value) : Number(value)) as never;
  return out;
}
