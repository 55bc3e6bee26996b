/**
 * Data types by their numpy/zarr names. `bool` is held as a `Uint8Array` of 0/1, 64-bit
 * integers as `BigInt64Array`/`BigUint64Array` (as zarrita does), strings as `string[]`.
 */
export const dtypes = {
  bool: { itemsize: 1, ctor: Uint8Array },
  int8: { itemsize: 1, ctor: Int8Array },
  int16: { itemsize: 2, ctor: Int16Array },
  int32: { itemsize: 4, ctor: Int32Array },
  int64: { itemsize: 8, ctor: BigInt64Array },
  uint8: { itemsize: 1, ctor: Uint8Array },
  uint16: { itemsize: 2, ctor: Uint16Array },
  uint32: { itemsize: 4, ctor: Uint32Array },
  uint64: { itemsize: 8, ctor: BigUint64Array },
  float32: { itemsize: 4, ctor: Float32Array },
  float64: { itemsize: 8, ctor: Float64Array },
  string: { itemsize: 0, ctor: globalThis.Array },
} as const;

/** A dtype name: `float32`, `int64`, `bool`, `string`, … */
export type DataType = keyof typeof dtypes;

/** A numeric typed array of any dtype. */
export type TypedArray =
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

/** The values of an n-d array: a typed array, or `string[]` for dtype `string`. */
export type ArrayData = TypedArray | string[];

/**
 * A computed n-d array: `data` in C order, `shape`, `dtype`. What `compute()` returns.
 *
 * @example
 * ```ts
 * const r: NDArray = { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2], dtype: "float32" };
 * ```
 */
export interface NDArray<D extends ArrayData = ArrayData> {
  readonly data: D;
  readonly shape: readonly number[];
  readonly dtype: DataType;
}

/** Whether `name` is a dtype zask knows. */
export function isDataType(name: unknown): name is DataType {
  return typeof name === "string" && Object.prototype.hasOwnProperty.call(dtypes, name);
}

// Fixed-size zarr v3 data types zask does not compute on, whose sizes still bound a chunk's bytes.
const OTHER_V3_ITEMSIZES: Readonly<Record<string, number>> = { float16: 2, complex64: 8, complex128: 16 };

/** Bytes per element of a fixed-size zarr v3 data type (`undefined` for strings and unknown names). */
export function fixedItemsize(name: string): number | undefined {
  if (isDataType(name)) return name === "string" ? undefined : dtypes[name].itemsize;
  return Object.prototype.hasOwnProperty.call(OTHER_V3_ITEMSIZES, name) ? OTHER_V3_ITEMSIZES[name] : undefined;
}

/** Bytes per element (0 for strings, whose size is not fixed). */
export function itemsize(dtype: DataType): number {
  return dtypes[dtype].itemsize;
}

/** A zero-filled data buffer of `length` elements of `dtype` (`""`s for strings). */
export function allocate(dtype: DataType, length: number): ArrayData {
  if (dtype === "string") return new globalThis.Array<string>(length).fill("");
  return new dtypes[dtype].ctor(length);
}

/** The typed-array constructor of a numeric dtype. */
export function typedArrayConstructor(dtype: Exclude<DataType, "string">) {
  return dtypes[dtype].ctor;
}

/**
 * The zask dtype of a zarrita data type (`"float32"`, `"v2:U5"`, `"v2:object"`, `"string"`, …):
 * zarr's fixed-width and variable-length strings all become `string`.
 *
 * @example
 * ```ts
 * fromZarrDataType("v2:object"); // "string"
 * ```
 */
export function fromZarrDataType(name: string): DataType {
  if (isDataType(name) && name !== "string") return name;
  if (name === "string" || name === "v2:object" || /^v2:[US]\d+$/.test(name)) return "string";
  throw new TypeError(`Expected a zarr data type zask supports (bool, [u]int8-64, float32/64, strings), got \`${name}\``);
}

/**
 * The numpy type string zarr v2 writes in `.zarray` for `dtype` (little endian; strings as
 * vlen-utf8 objects, as anndata does).
 *
 * @example
 * ```ts
 * toZarrV2Dtype("float32"); // "<f4"
 * ```
 */
export function toZarrV2Dtype(dtype: DataType): string {
  switch (dtype) {
    case "bool":
      return "|b1";
    case "int8":
      return "|i1";
    case "uint8":
      return "|u1";
    case "string":
      return "|O";
    default: {
      const kind = dtype.startsWith("float") ? "f" : dtype.startsWith("uint") ? "u" : "i";
      return `<${kind}${itemsize(dtype)}`;
    }
  }
}
