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
  // Per-axis element offsets, so the inner loop only adds (the outer axes' only when needed).
  const offsets = (k: number): [Float64Array, Float64Array] => {
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
    return [a, b];
  };
  const last = nd - 1;
  const [innerS, innerD] = offsets(last);
  const innerN = count[last]!;
  const pos = new globalThis.Array<number>(nd).fill(0);
  // Contiguous rows on both sides (assembly, rechunk, decoded edge chunks): long rows are a
  // memcpy (TypedArray.set); short ones (a few columns of a fancy selection) are cheaper copied
  // by a loop than through a subarray object made per row.
  const rows = (srcIdx[last] ?? null) === null && (dstIdx[last] ?? null) === null && srcStrides[last] === 1 && dstStrides[last] === 1 && innerN >= SET_MIN;
  const same = sameWidthViews(src, dst);
  if (nd === 2 && same !== undefined && !rows && (srcIdx[0] ?? null) === null && (dstIdx[0] ?? null) === null) {
    // rows a stride apart on both sides (a column selection, an assembly of narrow blocks)
    const args = [srcBase, srcStrides[0]!, dstBase, dstStrides[0]!, count[0]!, innerS, innerD, innerN] as const;
    if (same.w === 2) strided64(same.s as Int32Array, same.d as Int32Array, ...args);
    else if (same.s instanceof Int32Array) strided32(same.s, same.d as Int32Array, ...args);
    else if (same.s instanceof Uint16Array) strided16(same.s, same.d as Uint16Array, ...args);
    else strided8(same.s as Uint8Array, same.d as Uint8Array, ...args);
    return;
  }
  const so: Float64Array[] = [];
  const dof: Float64Array[] = [];
  for (let k = 0; k < last; k++) {
    const [a, b] = offsets(k);
    so.push(a);
    dof.push(b);
  }
  let rowCount = 1;
  for (let k = 0; k < last; k++) rowCount *= count[k]!;
  // the start of each row on both sides, a batch of rows at a time, so that one call of a
  // kernel specialised to the element width copies many rows
  const batch = Math.min(rowCount, ROW_BATCH);
  const sB = new Float64Array(batch);
  const dB = new Float64Array(batch);
  for (let done = 0; done < rowCount; ) {
    const n = Math.min(batch, rowCount - done);
    for (let r = 0; r < n; r++) {
      let sBase = srcBase;
      let dBase = dstBase;
      for (let k = 0; k < last; k++) {
        sBase += so[k]![pos[k]!]!;
        dBase += dof[k]![pos[k]!]!;
      }
      sB[r] = sBase;
      dB[r] = dBase;
      for (let k = last - 1; k >= 0; k--) {
        if (++pos[k]! < count[k]!) break;
        pos[k] = 0;
      }
    }
    if (same === undefined) copyAny(src, dst, sB, dB, n, innerS, innerD, innerN);
    else if (rows) copyRows(same.s, same.d, sB, dB, n, innerN * same.w, same.w);
    else if (same.w === 2) copy64(same.s as Int32Array, same.d as Int32Array, sB, dB, n, innerS, innerD, innerN);
    else if (same.s instanceof Int32Array) copy32(same.s, same.d as Int32Array, sB, dB, n, innerS, innerD, innerN);
    else if (same.s instanceof Uint16Array) copy16(same.s, same.d as Uint16Array, sB, dB, n, innerS, innerD, innerN);
    else copy8(same.s as Uint8Array, same.d as Uint8Array, sB, dB, n, innerS, innerD, innerN);
    done += n;
  }
}

/** Row starts computed at once before a kernel copies the rows. */
const ROW_BATCH = 4096;

type WordView = Uint8Array | Uint16Array | Int32Array;

/**
 * Strided copies of at most this many columns go column by column: a loop over the rows with
 * fixed steps beats one that restarts a short inner loop on every row.
 */
const COLUMN_MAJOR_MAX = 16;

/** Rows at least this long are copied with TypedArray.set; shorter ones element by element. */
const SET_MIN = 16;

/**
 * Views of the same bytes as `src` and `dst` with one element type per width (8, 16 and 32
 * bits; 64-bit elements as two 32-bit words, `w` = 2), so that each copy loop below sees one
 * element kind whatever the dtype and stays fast; `undefined` for string arrays and for typed
 * arrays of different kinds (whose values must be converted, not their bits copied).
 */
function sameWidthViews(src: ArrayData, dst: ArrayData): { s: WordView; d: WordView; w: number } | undefined {
  if (globalThis.Array.isArray(src) || globalThis.Array.isArray(dst) || src.constructor !== dst.constructor) return undefined;
  const bytes = src.BYTES_PER_ELEMENT;
  const view = (a: Exclude<ArrayData, string[]>, C: typeof Uint8Array | typeof Uint16Array | typeof Int32Array, n: number): WordView =>
    new C(a.buffer as ArrayBuffer, a.byteOffset, n);
  if (bytes === 1) return { s: view(src, Uint8Array, src.length), d: view(dst, Uint8Array, dst.length), w: 1 };
  if (bytes === 2) return { s: view(src, Uint16Array, src.length), d: view(dst, Uint16Array, dst.length), w: 1 };
  if (bytes === 4) return { s: view(src, Int32Array, src.length), d: view(dst, Int32Array, dst.length), w: 1 };
  return { s: view(src, Int32Array, src.length * 2), d: view(dst, Int32Array, dst.length * 2), w: 2 };
}

function copyRows(s: WordView, d: WordView, sB: Float64Array, dB: Float64Array, rows: number, n: number, w: number): void {
  for (let r = 0; r < rows; r++) (d as Int32Array).set((s as Int32Array).subarray(sB[r]! * w, sB[r]! * w + n), dB[r]! * w);
}

function copy8(s: Uint8Array, d: Uint8Array, sB: Float64Array, dB: Float64Array, rows: number, innerS: Float64Array, innerD: Float64Array, n: number): void {
  for (let r = 0; r < rows; r++) {
    const sBase = sB[r]!;
    const dBase = dB[r]!;
    for (let i = 0; i < n; i++) d[dBase + innerD[i]!] = s[sBase + innerS[i]!]!;
  }
}

function copy16(s: Uint16Array, d: Uint16Array, sB: Float64Array, dB: Float64Array, rows: number, innerS: Float64Array, innerD: Float64Array, n: number): void {
  for (let r = 0; r < rows; r++) {
    const sBase = sB[r]!;
    const dBase = dB[r]!;
    for (let i = 0; i < n; i++) d[dBase + innerD[i]!] = s[sBase + innerS[i]!]!;
  }
}

function copy32(s: Int32Array, d: Int32Array, sB: Float64Array, dB: Float64Array, rows: number, innerS: Float64Array, innerD: Float64Array, n: number): void {
  for (let r = 0; r < rows; r++) {
    const sBase = sB[r]!;
    const dBase = dB[r]!;
    for (let i = 0; i < n; i++) d[dBase + innerD[i]!] = s[sBase + innerS[i]!]!;
  }
}

function copy64(s: Int32Array, d: Int32Array, sB: Float64Array, dB: Float64Array, rows: number, innerS: Float64Array, innerD: Float64Array, n: number): void {
  for (let r = 0; r < rows; r++) {
    const sBase = sB[r]!;
    const dBase = dB[r]!;
    for (let i = 0; i < n; i++) {
      const a = 2 * (sBase + innerS[i]!);
      const b = 2 * (dBase + innerD[i]!);
      d[b] = s[a]!;
      d[b + 1] = s[a + 1]!;
    }
  }
}

function strided8(
  s: Uint8Array,
  d: Uint8Array,
  sBase: number,
  sStep: number,
  dBase: number,
  dStep: number,
  rows: number,
  innerS: Float64Array,
  innerD: Float64Array,
  n: number,
): void {
  if (n <= COLUMN_MAJOR_MAX) {
    for (let i = 0; i < n; i++) {
      let so = sBase + innerS[i]!;
      let dof = dBase + innerD[i]!;
      for (let r = 0; r < rows; r++, so += sStep, dof += dStep) d[dof] = s[so]!;
    }
    return;
  }
  for (let r = 0; r < rows; r++, sBase += sStep, dBase += dStep) for (let i = 0; i < n; i++) d[dBase + innerD[i]!] = s[sBase + innerS[i]!]!;
}

function strided16(
  s: Uint16Array,
  d: Uint16Array,
  sBase: number,
  sStep: number,
  dBase: number,
  dStep: number,
  rows: number,
  innerS: Float64Array,
  innerD: Float64Array,
  n: number,
): void {
  if (n <= COLUMN_MAJOR_MAX) {
    for (let i = 0; i < n; i++) {
      let so = sBase + innerS[i]!;
      let dof = dBase + innerD[i]!;
      for (let r = 0; r < rows; r++, so += sStep, dof += dStep) d[dof] = s[so]!;
    }
    return;
  }
  for (let r = 0; r < rows; r++, sBase += sStep, dBase += dStep) for (let i = 0; i < n; i++) d[dBase + innerD[i]!] = s[sBase + innerS[i]!]!;
}

function strided32(
  s: Int32Array,
  d: Int32Array,
  sBase: number,
  sStep: number,
  dBase: number,
  dStep: number,
  rows: number,
  innerS: Float64Array,
  innerD: Float64Array,
  n: number,
): void {
  if (n <= COLUMN_MAJOR_MAX) {
    for (let i = 0; i < n; i++) {
      let so = sBase + innerS[i]!;
      let dof = dBase + innerD[i]!;
      for (let r = 0; r < rows; r++, so += sStep, dof += dStep) d[dof] = s[so]!;
    }
    return;
  }
  for (let r = 0; r < rows; r++, sBase += sStep, dBase += dStep) for (let i = 0; i < n; i++) d[dBase + innerD[i]!] = s[sBase + innerS[i]!]!;
}

function strided64(
  s: Int32Array,
  d: Int32Array,
  sBase: number,
  sStep: number,
  dBase: number,
  dStep: number,
  rows: number,
  innerS: Float64Array,
  innerD: Float64Array,
  n: number,
): void {
  if (n <= COLUMN_MAJOR_MAX) {
    for (let i = 0; i < n; i++) {
      let a = 2 * (sBase + innerS[i]!);
      let b = 2 * (dBase + innerD[i]!);
      for (let r = 0; r < rows; r++, a += 2 * sStep, b += 2 * dStep) {
        d[b] = s[a]!;
        d[b + 1] = s[a + 1]!;
      }
    }
    return;
  }
  for (let r = 0; r < rows; r++, sBase += sStep, dBase += dStep) {
    for (let i = 0; i < n; i++) {
      const a = 2 * (sBase + innerS[i]!);
      const b = 2 * (dBase + innerD[i]!);
      d[b] = s[a]!;
      d[b + 1] = s[a + 1]!;
    }
  }
}

function copyAny(
  src: ArrayData,
  dst: ArrayData,
  sB: Float64Array,
  dB: Float64Array,
  rows: number,
  innerS: Float64Array,
  innerD: Float64Array,
  n: number,
): void {
  const s = src as unknown as { [i: number]: unknown };
  const d = dst as unknown as { [i: number]: unknown };
  for (let r = 0; r < rows; r++) {
    const sBase = sB[r]!;
    const dBase = dB[r]!;
    for (let i = 0; i < n; i++) d[dBase + innerD[i]!] = s[sBase + innerS[i]!];
  }
}
