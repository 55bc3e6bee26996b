// Sparse indices stored as int64 (as scipy writes them once a matrix holds 2^31 values) read
// as int32: an index is a position on the minor axis, so every valid one fits, and reading each
// 64-bit value as two 32-bit halves spares a BigInt per value.

import { recycleBuffer, takeBuffer } from "@zask/scheduler/buffers";
import type { NDArray } from "../dtype.js";
import { decodeChunk, type DecodeArgs } from "./zarr.js";

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * `src[from, to)` as int32 into `out` from `at`: a value in [-2^31, 2^31) as it is, any other
 * as -1, an index no minor axis holds, which every caller's bounds check refuses. Returns how
 * many did not fit.
 *
 * @example
 * ```ts
 * const out = new Int32Array(3);
 * narrowIndices(BigInt64Array.of(5n, 2n ** 40n, -3n), 0, 3, out); // 1; out: [5, -1, -3]
 * ```
 */
export function narrowIndices(src: BigInt64Array | BigUint64Array, from: number, to: number, out: Int32Array, at = 0): number {
  const halves = new Int32Array(src.buffer, src.byteOffset, src.length * 2);
  const lo = LITTLE_ENDIAN ? 0 : 1;
  const hi = 1 - lo;
  const signed = src instanceof BigInt64Array;
  let misfits = 0;
  for (let i = from; i < to; i++) {
    const l = halves[2 * i + lo]!;
    const h = halves[2 * i + hi]!;
    // it fits when the high half only extends the low half's sign (and, unsigned, is zero)
    if (h === l >> 31 && (signed || h === 0)) out[at + i - from] = l;
    else {
      out[at + i - from] = -1;
      misfits++;
    }
  }
  return misfits;
}

/**
 * cpu op: {@link decodeChunk}, with int64 (or uint64) indices read as int32 into a buffer of
 * their own and the decoded buffer given back for the next decode, so a scan of such indices
 * faults in half the fresh pages. A chunk holding an index beyond int32 comes back as decoded,
 * for the gather to name that index as stored.
 */
export async function decodeIndicesChunk(...args: DecodeArgs): Promise<NDArray> {
  const block = await decodeChunk(...args);
  const src = block.data;
  if (!(src instanceof BigInt64Array || src instanceof BigUint64Array)) return block;
  const out = new Int32Array(takeBuffer(4 * src.length), 0, src.length);
  if (narrowIndices(src, 0, src.length, out) > 0) {
    recycleBuffer(out.buffer as ArrayBuffer);
    return block;
  }
  // the decode made this buffer for this call alone (recycleBuffer keeps only takeBuffer's)
  recycleBuffer(src.buffer as ArrayBuffer);
  return { data: out, shape: block.shape, dtype: "int32" };
}
