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
  // Every element is written once whatever the loop order: when the last axis is short (a
  // few genes of a chunk), loop over the longest axis innermost instead, so that the per-row
  // overhead of the outer loops is paid a few times rather than once per row.
  const axes = Array.from({ length: nd }, (_, k) => k);
  let longest = nd - 1;
  for (let k = 0; k < nd; k++) if (count[k]! > count[longest]!) longest = k;
  if (count[nd - 1]! < SET_MIN && longest !== nd - 1) [axes[longest], axes[nd - 1]] = [nd - 1, longest];
  if (axes[nd - 1] !== nd - 1) {
    const p = <T>(xs: readonly T[]): T[] => axes.map((k) => xs[k]!);
    srcStrides = p(srcStrides);
    dstStrides = p(dstStrides);
    srcIdx = axes.map((k) => srcIdx[k] ?? null);
    dstIdx = axes.map((k) => dstIdx[k] ?? null);
    count = p(count);
  }
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
  const [s, d] = bitViews(src, dst);
  const run = runOf(s);
  const contiguous = (srcIdx[last] ?? null) === null && (dstIdx[last] ?? null) === null && srcStrides[last] === 1 && dstStrides[last] === 1;
  // Contiguous rows on both sides (assembly, rechunk, decoded edge chunks): copy rows with
  // TypedArray.set, which is a memcpy, instead of element by element — unless they are so
  // short (a few genes of a chunk) that a call and a subarray per row cost more than a loop.
  const rows = contiguous && innerN >= SET_MIN && !globalThis.Array.isArray(src) && !globalThis.Array.isArray(dst) && src.constructor === dst.constructor;
  for (;;) {
    let sBase = srcBase;
    let dBase = dstBase;
    for (let k = 0; k < last; k++) {
      sBase += so[k]![pos[k]!]!;
      dBase += dof[k]![pos[k]!]!;
    }
    if (rows) (dst as Float64Array).set((src as Float64Array).subarray(sBase, sBase + innerN), dBase);
    else run(s, d, sBase, dBase, innerS, innerD, innerN);
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

// One loop per kind of array, each its own function: a loop shared by every dtype would see
// many kinds of array and access its elements through V8's slow, megamorphic path.
type Run<T> = (s: T, d: T, sBase: number, dBase: number, si: Float64Array, di: Float64Array, n: number) => void;
const runI32: Run<Int32Array> = (s, d, sBase, dBase, si, di, n) => {
  for (let i = 0; i < n; i++) d[dBase + di[i]!] = s[sBase + si[i]!]!;
};
const runU16: Run<Uint16Array> = (s, d, sBase, dBase, si, di, n) => {
  for (let i = 0; i < n; i++) d[dBase + di[i]!] = s[sBase + si[i]!]!;
};
const runU8: Run<Uint8Array> = (s, d, sBase, dBase, si, di, n) => {
  for (let i = 0; i < n; i++) d[dBase + di[i]!] = s[sBase + si[i]!]!;
};
const runF64: Run<Float64Array> = (s, d, sBase, dBase, si, di, n) => {
  for (let i = 0; i < n; i++) d[dBase + di[i]!] = s[sBase + si[i]!]!;
};
const runAny: Run<{ [i: number]: unknown }> = (s, d, sBase, dBase, si, di, n) => {
  for (let i = 0; i < n; i++) d[dBase + di[i]!] = s[sBase + si[i]!];
};

function runOf(s: ArrayData): Run<ArrayData> {
  const run =
    s instanceof Int32Array ? runI32 : s instanceof Uint16Array ? runU16 : s instanceof Uint8Array ? runU8 : s instanceof Float64Array ? runF64 : runAny;
  return run as unknown as Run<ArrayData>;
}

/** Rows shorter than this are copied by a loop rather than by `TypedArray.set`. */
const SET_MIN = 16;

/**
 * Integer views of the same bytes when both sides are typed arrays of one element size of 1,
 * 2 or 4 bytes: the copy loops then see three kinds of array whatever the dtypes (fast,
 * monomorphic element access), and floats move as bits, NaN payloads included.
 */
function bitViews(src: ArrayData, dst: ArrayData): [ArrayData, ArrayData] {
  if (globalThis.Array.isArray(src) || globalThis.Array.isArray(dst)) return [src, dst];
  const size = (src as Uint8Array).BYTES_PER_ELEMENT;
  if (size !== (dst as Uint8Array).BYTES_PER_ELEMENT) return [src, dst];
  const View = size === 4 ? Int32Array : size === 2 ? Uint16Array : size === 1 ? Uint8Array : undefined;
  if (View === undefined) return [src, dst];
  const view = (a: ArrayData): ArrayData => {
    const t = a as Uint8Array;
    return t instanceof View ? t : (new View(t.buffer as ArrayBuffer, t.byteOffset, t.length) as unknown as ArrayData);
  };
  return [view(src), view(dst)];
}
