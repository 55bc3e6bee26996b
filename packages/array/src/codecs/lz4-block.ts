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
  for (;;) {
    const token = src[ip++]!;
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (ip >= end) throw new Lz4Fault(ip, "literal length runs past the end");
        b = src[ip++]!;
        lit += b;
      } while (b === 255);
    }
    if (lit > 0) {
      if (ip + lit > end) throw new Lz4Fault(ip, `literal run of ${lit} bytes runs past the end`);
      if (op + lit > dEnd) throw new Lz4Fault(ip, `literal run of ${lit} bytes overflows the output`);
      if (lit >= NATIVE_COPY) {
        dst.set(src.subarray(ip, ip + lit), op);
        ip += lit;
        op += lit;
      } else {
        const stop = ip + lit;
        while (ip < stop) dst[op++] = src[ip++]!;
      }
    }
    if (ip === end) return op;
    if (ip + 2 > end) throw new Lz4Fault(ip, "match offset runs past the end");
    const offset = src[ip]! | (src[ip + 1]! << 8);
    if (offset === 0 || offset > op - dStart) throw new Lz4Fault(ip, `match offset ${offset} points before the output`);
    ip += 2;
    let ml = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b: number;
      do {
        if (ip >= end) throw new Lz4Fault(ip, "match length runs past the end");
        b = src[ip++]!;
        ml += b;
      } while (b === 255);
    }
    if (op + ml > dEnd) throw new Lz4Fault(ip, `match of ${ml} bytes overflows the output`);
    let ref = op - offset;
    if (ml >= NATIVE_COPY && offset >= ml) {
      dst.copyWithin(op, ref, ref + ml);
      op += ml;
    } else {
      // Overlapping matches repeat the last `offset` bytes: copy forward byte by byte.
      const stop = op + ml;
      while (op < stop) dst[op++] = dst[ref++]!;
    }
  }
}

/** A fault inside a compressed stream; the caller turns it into a BloscError with the chunk offset. */
export class Lz4Fault extends Error {
  override name = "Lz4Fault" as const;
  readonly offset: number;
  constructor(offset: number, message: string) {
    super(message);
    this.offset = offset;
  }
}
