import type { ArrayData } from "../dtype.js";

/** C-order strides (in elements) of `shape`. */
export function cStrides(shape: readonly number[]): number[] {
  const out = new globalThis.Array<number>(shape.length);
  let s = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    out[k] = s;
    s *= shape[k]!;
  }
  return out;
}

/** Rows shorter than this are copied element by element rather than with `TypedArray.set`. */
const MIN_SET_ROW = 64;

/** Positions `0 … n-1`. */
export function identity(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

/**
 * The n-d copy every selection, transpose, assembly and re-layout reduces to: for every
 * combination `(i0, i1, …)` of per-axis positions, `dst[Σ dstIdx[k][ik]·dstStrides[k]] =
 * src[Σ srcIdx[k][ik]·srcStrides[k]]`. `srcIdx[k]` and `dstIdx[k]` have the same length;
 * `null` means "all positions of the axis" (the identity over `count[k]`).
 * One kernel keeps the hot loop in one place; the innermost axis is a tight loop.
 */
export function copyIndexed(
  src: ArrayData,
  srcStrides: readonly number[],
  srcIdx: readonly (Int32Array | null)[],
  dst: ArrayData,
  dstStrides: readonly number[],
  dstIdx: readonly (Int32Array | null)[],
  count: readonly number[],
  srcBase = 0,
  dstBase = 0,
): void {
  const nd = count.length;
  if (nd === 0) {
    (dst as unknown as unknown[])[dstBase] = (src as unknown as unknown[])[srcBase];
    return;
  }
  for (const c of count) if (c === 0) return;
  // Per-axis element offsets, so the inner loop only adds.
  const so: Float64Array[] = [];
  const dof: Float64Array[] = [];
  for (let k = 0; k < nd; k++) {
    const n = count[k]!;
    const a = new Float64Array(n);
    const b = new Float64Array(n);
    const si = srcIdx[k] ?? null;
    const di = dstIdx[k] ?? null;
    const ss = srcStrides[k]!;
    const ds = dstStrides[k]!;
    for (let i = 0; i < n; i++) {
      a[i] = (si === null ? i : si[i]!) * ss;
      b[i] = (di === null ? i : di[i]!) * ds;
    }
    so.push(a);
    dof.push(b);
  }
  const last = nd - 1;
  const innerS = so[last]!;
  const innerD = dof[last]!;
  const innerN = count[last]!;
  const pos = new globalThis.Array<number>(nd).fill(0);
  const s = src as unknown as { [i: number]: unknown };
  const d = dst as unknown as { [i: number]: unknown };
  // Contiguous rows on both sides (assembly, rechunk, decoded edge chunks): copy rows with
  // TypedArray.set, which is a memcpy, instead of element by element — unless rows are so
  // short (a column block's rows) that making a view per row costs more than the loop.
  const rows =
    innerN >= MIN_SET_ROW &&
    !globalThis.Array.isArray(src) &&
    !globalThis.Array.isArray(dst) &&
    (srcIdx[last] ?? null) === null &&
    (dstIdx[last] ?? null) === null &&
    srcStrides[last] === 1 &&
    dstStrides[last] === 1 &&
    src.constructor === dst.constructor;
  for (;;) {
    let sBase = srcBase;
    let dBase = dstBase;
    for (let k = 0; k < last; k++) {
      sBase += so[k]![pos[k]!]!;
      dBase += dof[k]![pos[k]!]!;
    }
    if (rows) (dst as Float64Array).set((src as Float64Array).subarray(sBase, sBase + innerN), dBase);
    else for (let i = 0; i < innerN; i++) d[dBase + innerD[i]!] = s[sBase + innerS[i]!];
    let k = last - 1;
    while (k >= 0) {
      pos[k]!++;
      if (pos[k]! < count[k]!) break;
      pos[k] = 0;
      k--;
    }
    if (k < 0) return;
  }
}
