// Byte unshuffle of one blosc block: the shuffled block holds byte j of every element as plane j
// (n = size / typesize bytes each), then the size % typesize trailing bytes unchanged.
// For typesizes that are multiples of 4 the planes are read 4 bytes at a time and transposed
// as 4x4 byte tiles in 32-bit registers (two rounds of masks and shifts): 4 loads and 4 stores per 16 bytes instead of 32 byte
// accesses. Uint32Array views need 4-byte alignment, so planes that are not aligned are first
// copied into an aligned scratch buffer (a memcpy is far cheaper than the byte loop).

let scratch = new Uint8Array(0);

/**
 * Unshuffle `size` bytes into `dst` at `dOff`. Plane j of the source starts at
 * `sOff + j * stride` in `src` (`stride` ≥ size / typesize; blosc writes them contiguous, but
 * the decoder may space them for alignment).
 *
 * @example
 * ```ts
 * unshuffleBlock(shuffled, 0, out.length / 4, out, 0, out.length, 4);
 * ```
 */
export function unshuffleBlock(src: Uint8Array, sOff: number, stride: number, dst: Uint8Array, dOff: number, size: number, typesize: number): void {
  const n = Math.floor(size / typesize);
  const body = n * typesize;
  if (body < size) dst.set(src.subarray(sOff + body, sOff + size), dOff + body);
  if (n === 0) return;
  if (typesize % 4 === 0 && (dst.byteOffset + dOff) % 4 === 0 && n >= 4) {
    if ((src.byteOffset + sOff) % 4 !== 0 || stride % 4 !== 0) {
      const aligned = (n + 3) & ~3;
      if (scratch.length < aligned * typesize) scratch = new Uint8Array(aligned * typesize);
      for (let j = 0; j < typesize; j++) scratch.set(src.subarray(sOff + j * stride, sOff + j * stride + n), j * aligned);
      src = scratch;
      sOff = 0;
      stride = aligned;
    }
    unshuffleWords(src, sOff, stride, dst, dOff, n, typesize);
    return;
  }
  for (let j = 0; j < typesize; j++) {
    const plane = sOff + j * stride;
    for (let i = 0, o = dOff + j; i < n; i++, o += typesize) dst[o] = src[plane + i]!;
  }
}

function unshuffleWords(src: Uint8Array, sOff: number, stride: number, dst: Uint8Array, dOff: number, n: number, typesize: number): void {
  const words = typesize >>> 2;
  const tiles = n >>> 2;
  const s32 = new Uint32Array(src.buffer, src.byteOffset + sOff, ((typesize - 1) * stride + n) >>> 2);
  const d32 = new Uint32Array(dst.buffer, dst.byteOffset + dOff, n * words);
  const stride32 = stride >>> 2;
  const step = 4 * words;
  for (let g = 0; g < words; g++) {
    const p0 = 4 * g * stride32;
    const p1 = p0 + stride32;
    const p2 = p1 + stride32;
    const p3 = p2 + stride32;
    for (let k = 0, o = g; k < tiles; k++, o += step) {
      const a0 = s32[p0 + k]!;
      const a1 = s32[p1 + k]!;
      const a2 = s32[p2 + k]!;
      const a3 = s32[p3 + k]!;
      // Interleave bytes pairwise, then 16-bit halves: t0 = a0.b0 a1.b0 a0.b2 a1.b2, etc.
      const t0 = (a0 & 0x00ff00ff) | ((a1 & 0x00ff00ff) << 8);
      const t1 = ((a0 >>> 8) & 0x00ff00ff) | (a1 & 0xff00ff00);
      const t2 = (a2 & 0x00ff00ff) | ((a3 & 0x00ff00ff) << 8);
      const t3 = ((a2 >>> 8) & 0x00ff00ff) | (a3 & 0xff00ff00);
      d32[o] = (t0 & 0xffff) | (t2 << 16);
      d32[o + words] = (t1 & 0xffff) | (t3 << 16);
      d32[o + 2 * words] = (t0 >>> 16) | (t2 & 0xffff0000);
      d32[o + 3 * words] = (t1 >>> 16) | (t3 & 0xffff0000);
    }
  }
  // The last n % 4 elements, byte by byte.
  for (let i = tiles * 4; i < n; i++) {
    for (let j = 0, o = dOff + i * typesize; j < typesize; j++) dst[o + j] = src[sOff + j * stride + i]!;
  }
}
