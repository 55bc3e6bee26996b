// LZ4 block format (no frame): token, literals, 16-bit offset, match; the last sequence has
// literals only. Every read and write is bounds-checked: typed arrays read `undefined` past
// their end instead of failing, which would silently decode garbage.

/** Literal and match runs at least this long are copied with native set/copyWithin. */
const NATIVE_COPY = 32;

/**
 * Decompress the LZ4 block `src[start, end)` into `dst[dStart, dEnd)`; returns the end of the
 * written output. Throws `Lz4Fault` (with the source offset) on malformed or truncated input.
 *
 * @example
 * ```ts
 * const written = decodeLz4Block(src, 0, src.length, out, 0, out.length) - 0;
 * ```
 */
export function decodeLz4Block(src: Uint8Array, start: number, end: number, dst: Uint8Array, dStart: number, dEnd: number): number {
  let ip = start;
  let op = dStart;
  if (ip >= end) throw new Lz4Fault(ip, "empty lz4 block");
  // Most sequences of shuffled float data are short (1-2 literals, 4-5 byte matches): copy 4
  // bytes unconditionally when both streams have room, which avoids a mispredicted loop exit.
  const endFast = end - 4;
  const dEndFast = dEnd - 4;
  for (;;) {
    const token = src[ip++]!;
    let lit = token >>> 4;
    if (lit <= 4 && ip <= endFast && op <= dEndFast) {
      dst[op] = src[ip]!;
      dst[op + 1] = src[ip + 1]!;
      dst[op + 2] = src[ip + 2]!;
      dst[op + 3] = src[ip + 3]!;
      ip += lit;
      op += lit;
    } else {
      if (lit === 15) {
        let b: number;
        do {
          if (ip >= end) throw new Lz4Fault(ip, "literal length runs past the end");
          b = src[ip++]!;
          lit += b;
        } while (b === 255);
      }
      if (ip + lit > end) throw new Lz4Fault(ip, `literal run of ${lit} bytes runs past the end`);
      if (op + lit > dEnd) throw new Lz4Fault(ip, `literal run of ${lit} bytes overflows the output`);
      if (lit > NATIVE_COPY) {
        dst.set(src.subarray(ip, ip + lit), op);
        ip += lit;
        op += lit;
      } else {
        while (lit-- !== 0) dst[op++] = src[ip++]!;
      }
    }
    if (ip >= end) return op;
    if (ip + 2 > end) throw new Lz4Fault(ip, "match offset runs past the end");
    const offset = src[ip]! | (src[ip + 1]! << 8);
    let ref = op - offset;
    if (offset === 0 || ref < dStart) throw new Lz4Fault(ip, `match offset ${offset} points before the output`);
    ip += 2;
    let ml = token & 15;
    if (ml === 15) {
      let b: number;
      do {
        if (ip >= end) throw new Lz4Fault(ip, "match length runs past the end");
        b = src[ip++]!;
        ml += b;
      } while (b === 255);
    }
    ml += 4;
    if (op + ml > dEnd) throw new Lz4Fault(ip, `match of ${ml} bytes overflows the output`);
    if (ml > NATIVE_COPY && offset >= ml) {
      dst.copyWithin(op, ref, ref + ml);
      op += ml;
    } else {
      // Byte by byte, in order: an overlapping match (offset < length) repeats its last bytes.
      dst[op] = dst[ref]!;
      dst[op + 1] = dst[ref + 1]!;
      dst[op + 2] = dst[ref + 2]!;
      dst[op + 3] = dst[ref + 3]!;
      op += 4;
      ref += 4;
      ml -= 4;
      while (ml-- !== 0) dst[op++] = dst[ref++]!;
    }
  }
}

/**
 * A fault inside a compressed stream (lz4 or blosclz); the blosc decoder turns it into a
 * BloscError carrying the same offset, so it never escapes `decodeBloscSync`.
 *
 * @example
 * ```ts
 * try { decodeLz4Block(src, 0, src.length, out, 0, out.length); } catch (e) { if (e instanceof Lz4Fault) e.offset; }
 * ```
 */
export class Lz4Fault extends Error {
  override name = "Lz4Fault" as const;
  readonly offset: number;
  constructor(offset: number, message: string) {
    super(message);
    this.offset = offset;
  }
}
