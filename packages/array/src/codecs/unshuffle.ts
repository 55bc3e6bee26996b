// Byte unshuffle of one blosc block: the shuffled block holds byte j of every element as plane j
// (plane length = blocksize / typesize), then the blocksize % typesize trailing bytes unchanged.

/**
 * Unshuffle `size` bytes of `src` (from `sOff`) into `dst` (from `dOff`) for elements of
 * `typesize` bytes.
 *
 * @example
 * ```ts
 * unshuffleBlock(shuffled, 0, out, 0, out.length, 4);
 * ```
 */
export function unshuffleBlock(src: Uint8Array, sOff: number, dst: Uint8Array, dOff: number, size: number, typesize: number): void {
  const n = Math.floor(size / typesize);
  const body = n * typesize;
  const absolute = dst.byteOffset + dOff;
  if (typesize === 4 && absolute % 4 === 0) {
    const out = new Uint32Array(dst.buffer, absolute, n);
    const p1 = sOff + n, p2 = p1 + n, p3 = p2 + n;
    for (let i = 0; i < n; i++) {
      out[i] = src[sOff + i]! | (src[p1 + i]! << 8) | (src[p2 + i]! << 16) | (src[p3 + i]! << 24);
    }
  } else if (typesize === 8 && absolute % 4 === 0) {
    const out = new Uint32Array(dst.buffer, absolute, n * 2);
    const p1 = sOff + n, p2 = p1 + n, p3 = p2 + n, p4 = p3 + n, p5 = p4 + n, p6 = p5 + n, p7 = p6 + n;
    for (let i = 0, o = 0; i < n; i++, o += 2) {
      out[o] = src[sOff + i]! | (src[p1 + i]! << 8) | (src[p2 + i]! << 16) | (src[p3 + i]! << 24);
      out[o + 1] = src[p4 + i]! | (src[p5 + i]! << 8) | (src[p6 + i]! << 16) | (src[p7 + i]! << 24);
    }
  } else {
    for (let j = 0; j < typesize; j++) {
      const plane = sOff + j * n;
      for (let i = 0, o = dOff + j; i < n; i++, o += typesize) dst[o] = src[plane + i]!;
    }
  }
  if (body < size) dst.set(src.subarray(sOff + body, sOff + size), dOff + body);
}
