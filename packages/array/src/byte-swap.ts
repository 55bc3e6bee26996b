import { itemsize, type DataType } from "./dtype.js";

/**
 * Reverse the bytes of each `itemsize`-byte item of `bytes`, in place: little endian to big
 * endian and back (numpy's `>` dtypes, which zarr stores written on big-endian machines hold).
 *
 * @example
 * ```ts
 * swapBytes(Uint8Array.of(1, 2, 3, 4), 2); // Uint8Array [2, 1, 4, 3]
 * ```
 */
export function swapBytes(bytes: Uint8Array, itemsize: number): Uint8Array {
  for (let i = 0; i + itemsize <= bytes.length; i += itemsize) {
    for (let a = i, b = i + itemsize - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
  return bytes;
}

/** Whether numbers of `dtype` are to be stored big endian: `byteOrder` `">"`, for items wider than a byte. */
export function bigEndianOf(byteOrder: unknown, dtype: string): boolean {
  if (byteOrder !== undefined && byteOrder !== "<" && byteOrder !== ">")
    throw new RangeError(`Expected \`byteOrder\` "<" or ">", got \`${String(byteOrder)}\``);
  return byteOrder === ">" && dtype !== "string" && itemsize(dtype as DataType) > 1;
}
