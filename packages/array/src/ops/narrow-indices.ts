// Sparse indices stored as int64 (as scipy writes them once a matrix holds 2^31 values) read
// as int32: an index is a position on the minor axis, so every valid one fits, and reading each
// 64-bit value as two 32-bit halves spares a BigInt per value.

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * `src[from, to)` as int32 into `out` from `at`: a value in [-2^31, 2^31) as it is, any other
 * as -1, an index no minor axis holds, which every caller's bounds check refuses.
 *
 * @example
 * ```ts
 * const out = new Int32Array(3);
 * narrowIndices(BigInt64Array.of(5n, 2n ** 40n, -3n), 0, 3, out); // out: [5, -1, -3]
 * ```
 */
export function narrowIndices(src: BigInt64Array | BigUint64Array, from: number, to: number, out: Int32Array, at = 0): void {
  const halves = new Int32Array(src.buffer, src.byteOffset, src.length * 2);
  const lo = LITTLE_ENDIAN ? 0 : 1;
  const hi = 1 - lo;
  const signed = src instanceof BigInt64Array;
  for (let i = from; i < to; i++) {
    const l = halves[2 * i + lo]!;
    const h = halves[2 * i + hi]!;
    // it fits when the high half only extends the low half's sign (and, unsigned, is zero)
    out[at + i - from] = h === l >> 31 && (signed || h === 0) ? l : -1;
  }
}
