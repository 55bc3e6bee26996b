// BloscLZ (a FastLZ derivative, as c-blosc 1.x's blosclz_decompress reads it): a control byte
// < 32 starts a literal run of ctrl+1 bytes; otherwise ctrl>>5 gives the match length (7 means
// extended by 255-runs) and a 13-bit distance, with a 16-bit escape for distances past 8191.
import { Lz4Fault } from "./lz4-block.js";

const MAX_DISTANCE = 8191;
const NATIVE_COPY = 32;

/**
 * Decompress the BloscLZ stream `src[start, end)` into `dst[dStart, dEnd)`; returns the end of
 * the written output. Throws `Lz4Fault` (with the source offset) on malformed input.
 *
 * @example
 * ```ts
 * const end = decodeBloscLz(src, 0, src.length, out, 0, out.length);
 * ```
 */
export function decodeBloscLz(src: Uint8Array, start: number, end: number, dst: Uint8Array, dStart: number, dEnd: number): number {
  let ip = start;
  let op = dStart;
  if (ip >= end) throw new Lz4Fault(ip, "empty blosclz stream");
  let ctrl = src[ip++]! & 31;
  for (;;) {
    if (ctrl >= 32) {
      let len = (ctrl >>> 5) - 1;
      const ofs = (ctrl & 31) << 8;
      if (len === 6) {
        let code: number;
        do {
          if (ip >= end) throw new Lz4Fault(ip, "match length runs past the end");
          code = src[ip++]!;
          len += code;
        } while (code === 255);
      }
      if (ip >= end) throw new Lz4Fault(ip, "match distance runs past the end");
      const code = src[ip++]!;
      let distance = ofs + code;
      if (code === 255 && ofs === 31 << 8) {
        if (ip + 2 > end) throw new Lz4Fault(ip, "long match distance runs past the end");
        distance = ((src[ip]! << 8) | src[ip + 1]!) + MAX_DISTANCE;
        ip += 2;
      }
      let ref = op - distance - 1;
      len += 3;
      if (op + len > dEnd) throw new Lz4Fault(ip, `match of ${len} bytes overflows the output`);
      if (ref < dStart) throw new Lz4Fault(ip, `match distance ${distance + 1} points before the output`);
      if (len >= NATIVE_COPY && distance + 1 >= len) {
        dst.copyWithin(op, ref, ref + len);
        op += len;
      } else {
        const stop = op + len;
        while (op < stop) dst[op++] = dst[ref++]!;
      }
      if (ip >= end) return op;
      ctrl = src[ip++]!;
    } else {
      const lit = ctrl + 1;
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
      if (ip >= end) return op;
      ctrl = src[ip++]!;
    }
  }
}
