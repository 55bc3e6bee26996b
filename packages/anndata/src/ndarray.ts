// Structural twins of @zask/array's NDArray / DataType, so that eager values need no import of
// the lazy array package (its public index is still being written).

/** A numpy dtype name as zask uses them (`float32`, `int64`, `bool` as 0/1 bytes, `string`). */
export type DataType =
  | "bool" | "int8" | "int16" | "int32" | "int64" | "uint8" | "uint16" | "uint32" | "uint64"
  | "float32" | "float64" | "string";

/** Any numeric typed array. */
export type TypedArray =
  | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array
  | BigUint64Array | Float32Array | Float64Array;

/** A computed n-d array (C order), as @zask/array's `compute()` returns. */
export interface NDArray<D extends TypedArray | string[] = TypedArray | string[]> {
  readonly data: D;
  readonly shape: readonly number[];
  readonly dtype: DataType;
}

const ctors: Record<Exclude<DataType, "string">, { new (n: number): TypedArray; BYTES_PER_ELEMENT: number }> = {
  bool: Uint8Array, int8: Int8Array, int16: Int16Array, int32: Int32Array, int64: BigInt64Array,
  uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array,
  float32: Float32Array, float64: Float64Array,
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
