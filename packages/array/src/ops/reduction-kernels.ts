// Reduction kernels (worker ops `@zask/array/ops#reduceChunk`, `#reduceCombine`,
// `#reduceAggregate`): a tree reduction passes partial results between them.
import { allocate, type ArrayData, type DataType, type NDArray, type TypedArray } from "../dtype.js";
import { integerRange, kindOf } from "../promote.js";
import { isSparseBlock, type SparseBlock } from "./sparse-block.js";
import { mergeLineParts, type LineParts } from "./sparse-line-parts.js";
import { foldEntries, type PairReduceKind } from "./sparse-reduce-pair.js";
import { sparseReduceChunk, type SparseReduceKind } from "./sparse-reductions.js";

/** What a reduction step computes (the public kinds, with `sum` split by accumulator). */
export type ReduceKind = "fsum" | "isum" | "mean" | "var" | "std" | "min" | "max" | "argmin" | "argmax" | "countNonzero" | "any" | "all";

/**
 * A partial result: `data` per output element (the sum, mean, extreme value, …), `n` the
 * number of input elements behind each one, `aux` a second array (`M2` of var, the global
 * flat or axis index of argmin/argmax). Shape keeps reduced axes with length 1.
 */
export interface PartialResult {
  readonly data: ArrayData;
  readonly shape: readonly number[];
  readonly dtype: DataType;
  readonly n: number;
  readonly aux?: Float64Array;
  /**
   * Per output element, how many of the `n` input elements `data` and `aux` stand for (var,
   * std, min, max of a sparse chunk pair: its stored values); the other elements are zeros,
   * folded in by the last step.
   */
  readonly counts?: Float64Array;
  /** Stored values of lines across chunk boundaries, not yet folded in (see sparse-line-parts.ts). */
  readonly lines?: LineParts;
}

/** Where a block sits, for argmin/argmax's global indices. */
export interface BlockPlacement {
  /** Start of the block along every axis. */
  readonly offsets: readonly number[];
  /** The whole array's shape. */
  readonly shape: readonly number[];
  /** The reduced axis, or null for the flat index over all axes. */
  readonly axis: number | null;
}

type Numeric = TypedArray;

/** Drop length-1 axes and merge neighbours that are both reduced or both kept. */
function collapse(shape: readonly number[], reduced: ReadonlySet<number>): { dims: number[]; red: boolean[] } {
  const dims: number[] = [];
  const red: boolean[] = [];
  shape.forEach((n, axis) => {
    if (n === 1) return;
    const r = reduced.has(axis);
    if (red.length > 0 && red[red.length - 1] === r) dims[dims.length - 1]! *= n;
    else {
      dims.push(n);
      red.push(r);
    }
  });
  if (dims.length === 0) return { dims: [1], red: [false] };
  return { dims, red };
}

/**
 * Call `row(base, o)` for every innermost row of a C-order block: `base` is the row's first
 * flat position, `o` the output position of its first element (constant over the row when the
 * last axis is reduced, else advancing with it).
 */
function forEachRow(dims: readonly number[], red: readonly boolean[], row: (base: number, o: number) => void): void {
  const nd = dims.length;
  const inner = dims[nd - 1]!;
  if (inner === 0 || dims.some((n) => n === 0)) return;
  const ostride = new Array<number>(nd).fill(0);
  let s = 1;
  for (let d = nd - 1; d >= 0; d--) {
    if (red[d]) continue;
    ostride[d] = s;
    s *= dims[d]!;
  }
  let rows = 1;
  for (let d = 0; d < nd - 1; d++) rows *= dims[d]!;
  const idx = new Array<number>(nd).fill(0);
  let o = 0;
  for (let r = 0, base = 0; r < rows; r++, base += inner) {
    row(base, o);
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]!++;
      o += ostride[d]!;
      if (idx[d]! < dims[d]!) break;
      o -= ostride[d]! * dims[d]!;
      idx[d] = 0;
    }
  }
}

function numbers(data: ArrayData): Float64Array | Exclude<Numeric, BigInt64Array | BigUint64Array> {
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Float64Array.from(data, Number);
  if (Array.isArray(data)) throw new TypeError("Expected a numeric block, got strings");
  return data as Exclude<Numeric, BigInt64Array | BigUint64Array>;
}

const maxAbs: Partial<Record<DataType, number>> = {
  bool: 1,
  int8: 128,
  uint8: 255,
  int16: 32768,
  uint16: 65535,
  int32: 2 ** 31,
  uint32: 2 ** 32,
};

/** Exact integer sums: numbers until they could pass 2**53, then flushed into bigints. */
function integerSum(x: ArrayData, dtype: DataType, dims: number[], red: boolean[], len: number, unsigned: boolean): ArrayData {
  const big = unsigned ? new BigUint64Array(len) : new BigInt64Array(len);
  const inner = dims[dims.length - 1]!;
  const lastRed = red[red.length - 1]!;
  if (x instanceof BigInt64Array || x instanceof BigUint64Array) {
    forEachRow(dims, red, (base, o) => {
      if (lastRed) {
        let s = big[o]!;
        for (let j = 0; j < inner; j++) s += BigInt(x[base + j]!);
        big[o] = s as never;
      } else for (let j = 0; j < inner; j++) big[o + j] = ((big[o + j] as bigint) + BigInt(x[base + j]!)) as never;
    });
    return big;
  }
  const v = x as Exclude<Numeric, BigInt64Array | BigUint64Array>;
  const acc = new Float64Array(len);
  // how many values an accumulator may take before it could leave the exact range of doubles
  const cap = Math.floor(2 ** 53 / maxAbs[dtype]!);
  let added = 0;
  const flush = (): void => {
    for (let i = 0; i < len; i++) big[i] = ((big[i] as bigint) + BigInt(acc[i]!)) as never;
    acc.fill(0);
    added = 0;
  };
  forEachRow(dims, red, (base, o) => {
    if (lastRed) {
      for (let j0 = 0; j0 < inner; j0 += cap) {
        const j1 = Math.min(inner, j0 + cap);
        if (added + (j1 - j0) > cap) flush();
        let s = acc[o]!;
        for (let j = j0; j < j1; j++) s += v[base + j]!;
        acc[o] = s;
        added += j1 - j0;
      }
    } else {
      if (added + 1 > cap) flush();
      for (let j = 0; j < inner; j++) acc[o + j]! += v[base + j]!;
      added += 1;
    }
  });
  flush();
  return big;
}

function floatSum(v: ArrayLike<number>, dims: number[], red: boolean[], len: number): Float64Array {
  const acc = new Float64Array(len);
  const inner = dims[dims.length - 1]!;
  const lastRed = red[red.length - 1]!;
  // Fast paths for float blocks reduced over their leading axis (a mean per gene over cell-major
  // chunks) or over everything: one monomorphic loop per array type instead of a callback per
  // row (see SUM_LEADING_SOURCE).
  if (dims.length === 2 && red[0] && !lastRed) {
    if (v instanceof Float32Array) sumLeadingF32(v, dims[0]!, inner, acc);
    else if (v instanceof Float64Array) sumLeadingF64(v, dims[0]!, inner, acc);
    else sumLeading(v, dims[0]!, inner, acc);
    return acc;
  }
  forEachRow(dims, red, (base, o) => {
    if (lastRed) {
      let s = acc[o]!;
      for (let j = 0; j < inner; j++) s += v[base + j]!;
      acc[o] = s;
    } else for (let j = 0; j < inner; j++) acc[o + j]! += v[base + j]!;
  });
  return acc;
}

type SumLeading = (v: ArrayLike<number>, rows: number, inner: number, acc: Float64Array) => void;

// Sum the rows of a (rows, inner) C-order block into `acc`, in row order (so results are the
// same as the row-by-row loop, bit for bit). Narrow blocks sum column by column in registers
// (4 columns at a time up to 64): measured on (2638, 5) / (2638, 25) float32 blocks, 1.9 / 1.1
// ns per element against 4.2 / 3.7 for the row-by-row loop, which stays best for wide rows.
// The source is compiled once per array type with `new Function` so each copy stays monomorphic.
const SUM_LEADING_SOURCE = `
  const end = rows * inner;
  if (inner > 64) {
    // eight rows per pass over the columns, each column's sum in a register: 1.3 ns per element
    // on a (2638, 1838) float32 block against 3.2 for one row per pass (which loads and stores
    // the column's sum per element), the same additions in the same order
    let base = 0;
    for (; base + 8 * inner <= end; base += 8 * inner) {
      for (let j = 0; j < inner; j++) {
        let i = base + j;
        let s = acc[j];
        s += v[i]; i += inner; s += v[i]; i += inner; s += v[i]; i += inner; s += v[i]; i += inner;
        s += v[i]; i += inner; s += v[i]; i += inner; s += v[i]; i += inner; s += v[i];
        acc[j] = s;
      }
    }
    for (; base < end; base += inner) for (let j = 0; j < inner; j++) acc[j] += v[base + j];
    return;
  }
  let j = 0;
  if (inner > 8) {
    for (; j + 4 <= inner; j += 4) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let i = j; i < end; i += inner) { s0 += v[i]; s1 += v[i + 1]; s2 += v[i + 2]; s3 += v[i + 3]; }
      acc[j] += s0; acc[j + 1] += s1; acc[j + 2] += s2; acc[j + 3] += s3;
    }
  }
  for (; j < inner; j++) {
    let s = 0;
    for (let i = j; i < end; i += inner) s += v[i];
    acc[j] += s;
  }
`;
const sumLeadingF32 = new Function("v", "rows", "inner", "acc", SUM_LEADING_SOURCE) as SumLeading;
const sumLeadingF64 = new Function("v", "rows", "inner", "acc", SUM_LEADING_SOURCE) as SumLeading;
const sumLeading = new Function("v", "rows", "inner", "acc", SUM_LEADING_SOURCE) as SumLeading;

function countNonzero(v: ArrayLike<number>, dims: number[], red: boolean[], len: number): Float64Array {
  const acc = new Float64Array(len);
  const inner = dims[dims.length - 1]!;
  const lastRed = red[red.length - 1]!;
  forEachRow(dims, red, (base, o) => {
    if (lastRed) {
      let s = acc[o]!;
      for (let j = 0; j < inner; j++) if (v[base + j] !== 0) s++;
      acc[o] = s;
    } else for (let j = 0; j < inner; j++) if (v[base + j] !== 0) acc[o + j]!++;
  });
  return acc;
}

/** Initial value of a running max (`sign` 1) or min (`sign` -1) for `dtype`. */
function extremeStart(dtype: DataType, sign: 1 | -1): number | bigint {
  const k = kindOf(dtype);
  if (k === "float") return sign > 0 ? -Infinity : Infinity;
  const [lo, hi] = integerRange(dtype === "bool" ? "uint8" : dtype);
  const v = sign > 0 ? lo : hi;
  return dtype.endsWith("64") ? v : Number(v);
}

function extreme(x: Numeric, dtype: DataType, dims: number[], red: boolean[], len: number, sign: 1 | -1): TypedArray {
  const out = allocate(dtype, len) as TypedArray;
  out.fill(extremeStart(dtype, sign) as never);
  const inner = dims[dims.length - 1]!;
  const lastRed = red[red.length - 1]!;
  const m = out as unknown as number[]; // numbers or bigints: the comparisons work for both
  const xs = x as unknown as number[];
  forEachRow(dims, red, (base, o) => {
    if (lastRed) {
      let b = m[o]!;
      if (sign > 0) {
        // `b === b`: once NaN, stay NaN (numpy's max propagates NaN)
        for (let j = 0; j < inner; j++) {
          const v = xs[base + j]!;
          if (b === b && (v > b || v !== v)) b = v;
        }
      } else {
        for (let j = 0; j < inner; j++) {
          const v = xs[base + j]!;
          if (b === b && (v < b || v !== v)) b = v;
        }
      }
      m[o] = b;
    } else {
      for (let j = 0; j < inner; j++) {
        const v = xs[base + j]!;
        const b = m[o + j]!;
        if (b === b && (v !== v || (sign > 0 ? v > b : v < b))) m[o + j] = v;
      }
    }
  });
  return out;
}

function argExtreme(x: Numeric, dtype: DataType, dims: number[], red: boolean[], len: number, sign: 1 | -1): { value: TypedArray; local: Float64Array } {
  const value = allocate(dtype, len) as TypedArray;
  const local = new Float64Array(len).fill(-1);
  const inner = dims[dims.length - 1]!;
  const lastRed = red[red.length - 1]!;
  const m = value as unknown as number[];
  const xs = x as unknown as number[];
  // strict comparisons keep the first occurrence; the first NaN wins and then stays
  const better = (v: number, b: number): boolean => b === b && (v !== v || (sign > 0 ? v > b : v < b));
  forEachRow(dims, red, (base, o) => {
    for (let j = 0; j < inner; j++) {
      const oo = lastRed ? o : o + j;
      const v = xs[base + j]!;
      if (local[oo]! < 0 || better(v, m[oo]!)) {
        m[oo] = v;
        local[oo] = base + j;
      }
    }
  });
  return { value, local };
}

function keptShape(shape: readonly number[], reduced: ReadonlySet<number>): number[] {
  return shape.map((n, axis) => (reduced.has(axis) ? 1 : n));
}

/**
 * The per-block step of a tree reduction: reduce `block` over `axes`, keeping them with
 * length 1. `placement` is needed by argmin/argmax only.
 *
 * @example
 * ```ts
 * reduceChunk("fsum", { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2], dtype: "float32" }, [0]);
 * // { data: Float64Array [4, 6], shape: [1, 2], dtype: "float64", n: 2 }
 * ```
 */
export function reduceChunk(kind: ReduceKind, block: NDArray | SparseBlock, axes: readonly number[], placement?: BlockPlacement): PartialResult {
  // a sparse block reduces over its stored values (the sparse builders never ask for argmin/argmax)
  if (isSparseBlock(block)) return sparseReduceChunk(kind as SparseReduceKind, block, axes);
  const reduced = new Set(axes);
  const shape = keptShape(block.shape, reduced);
  const len = shape.reduce((a, b) => a * b, 1);
  let n = 1;
  for (const a of axes) n *= block.shape[a]!;
  const { dims, red } = collapse(block.shape, reduced);
  const x = block.data;
  switch (kind) {
    case "isum": {
      const unsigned = kindOf(block.dtype) === "uint";
      const data = integerSum(x, block.dtype, dims, red, len, unsigned);
      return { data, shape, dtype: unsigned ? "uint64" : "int64", n };
    }
    case "fsum":
      return { data: floatSum(numbers(x), dims, red, len), shape, dtype: "float64", n };
    case "mean":
      return { data: floatSum(numbers(x), dims, red, len), shape, dtype: "float64", n };
    case "var":
    case "std": {
      const v = numbers(x);
      const mean = floatSum(v, dims, red, len);
      if (n > 0) for (let i = 0; i < len; i++) mean[i]! /= n;
      // a second pass over the block for M2: sums of squared deviations stay accurate
      const m2 = new Float64Array(len);
      const inner = dims[dims.length - 1]!;
      const lastRed = red[red.length - 1]!;
      forEachRow(dims, red, (base, o) => {
        if (lastRed) {
          const mu = mean[o]!;
          let s = m2[o]!;
          for (let j = 0; j < inner; j++) {
            const d = v[base + j]! - mu;
            s += d * d;
          }
          m2[o] = s;
        } else {
          for (let j = 0; j < inner; j++) {
            const d = v[base + j]! - mean[o + j]!;
            m2[o + j]! += d * d;
          }
        }
      });
      return { data: mean, shape, dtype: "float64", n, aux: m2 };
    }
    case "min":
    case "max":
      return { data: extreme(x as Numeric, block.dtype, dims, red, len, kind === "max" ? 1 : -1), shape, dtype: block.dtype, n };
    case "argmin":
    case "argmax": {
      if (placement === undefined) throw new TypeError(`Expected a block placement for ${kind}`);
      const { value, local } = argExtreme(x as Numeric, block.dtype, dims, red, len, kind === "argmax" ? 1 : -1);
      return { data: value, shape, dtype: block.dtype, n, aux: globalIndices(local, block.shape, placement) };
    }
    case "countNonzero":
    case "any":
    case "all": {
      const count = countNonzero(numbers(x), dims, red, len);
      if (kind === "countNonzero") return { data: count, shape, dtype: "float64", n };
      const flags = new Uint8Array(len);
      for (let i = 0; i < len; i++) flags[i] = (kind === "any" ? count[i]! > 0 : count[i] === n) ? 1 : 0;
      return { data: flags, shape, dtype: "bool", n };
    }
  }
  throw new RangeError(`Expected a reduction kind, got \`${String(kind)}\``);
}

/** Block-local C-order positions → indices along the reduced axis, or flat indices over the whole array. */
function globalIndices(local: Float64Array, blockShape: readonly number[], p: BlockPlacement): Float64Array {
  const nd = blockShape.length;
  const out = new Float64Array(local.length);
  for (let i = 0; i < local.length; i++) {
    let rest = local[i]!;
    let flat = 0;
    let stride = 1;
    for (let d = nd - 1; d >= 0; d--) {
      const q = rest % blockShape[d]!;
      rest = (rest - q) / blockShape[d]!;
      const g = q + p.offsets[d]!;
      if (p.axis === d) {
        flat = g;
        break;
      }
      if (p.axis === null) flat += g * stride;
      stride *= p.shape[d]!;
    }
    out[i] = flat;
  }
  return out;
}

/**
 * A combine step of a tree reduction: merge partials of equal shape into one.
 *
 * @example
 * ```ts
 * reduceCombine("fsum", [a, b]); // a partial whose data is a.data + b.data
 * ```
 */
export function reduceCombine(kind: ReduceKind, partials: readonly PartialResult[]): PartialResult {
  if (partials.some((p) => p.lines !== undefined)) return combineLines(kind, partials);
  if (partials.length === 1) return partials[0]!;
  const first = partials[0]!;
  const len = first.data.length;
  const n = partials.reduce((s, p) => s + p.n, 0);
  if (first.counts !== undefined) return combineCounted(kind, partials, n);
  switch (kind) {
    case "isum": {
      const out = allocate(first.dtype, len) as BigInt64Array;
      for (const p of partials) {
        const d = p.data as BigInt64Array;
        for (let i = 0; i < len; i++) out[i] = (out[i]! + d[i]!) as never;
      }
      return { ...first, data: out, n };
    }
    case "fsum":
    case "mean":
    case "countNonzero": {
      const out = new Float64Array(len);
      for (const p of partials) {
        const d = p.data as Float64Array;
        for (let i = 0; i < len; i++) out[i]! += d[i]!;
      }
      return { ...first, data: out, n };
    }
    case "var":
    case "std": {
      // Chan et al.'s pairwise update of counts, means and M2
      const mean = Float64Array.from(first.data as Float64Array);
      const m2 = Float64Array.from(first.aux!);
      let na = first.n;
      for (const p of partials.slice(1)) {
        const nb = p.n;
        const nn = na + nb;
        if (nb === 0) continue;
        const mb = p.data as Float64Array;
        const m2b = p.aux!;
        for (let i = 0; i < len; i++) {
          const delta = mb[i]! - mean[i]!;
          mean[i]! += (delta * nb) / nn;
          m2[i]! += m2b[i]! + (delta * delta * na * nb) / nn;
        }
        na = nn;
      }
      return { ...first, data: mean, aux: m2, n };
    }
    case "min":
    case "max": {
      const out = (first.data as TypedArray).slice() as unknown as number[];
      const sign = kind === "max" ? 1 : -1;
      for (const p of partials.slice(1)) {
        const d = p.data as unknown as number[];
        for (let i = 0; i < len; i++) {
          const b = out[i]!;
          const v = d[i]!;
          if (b === b && (v !== v || (sign > 0 ? v > b : v < b))) out[i] = v;
        }
      }
      return { ...first, data: out as unknown as TypedArray, n };
    }
    case "argmin":
    case "argmax": {
      const value = (first.data as TypedArray).slice() as unknown as number[];
      const index = Float64Array.from(first.aux!);
      const sign = kind === "argmax" ? 1 : -1;
      for (const p of partials.slice(1)) {
        const d = p.data as unknown as number[];
        const ix = p.aux!;
        for (let i = 0; i < len; i++) {
          const b = value[i]!;
          const v = d[i]!;
          const bi = index[i]!;
          const vi = ix[i]!;
          let take: boolean;
          if (b !== b) take = v !== v && vi < bi;
          else if (v !== v) take = true;
          else take = (sign > 0 ? v > b : v < b) || (v === b && vi < bi);
          if (take) {
            value[i] = v;
            index[i] = vi;
          }
        }
      }
      return { ...first, data: value as unknown as TypedArray, aux: index, n };
    }
    case "any":
    case "all": {
      const out = Uint8Array.from(first.data as Uint8Array);
      for (const p of partials.slice(1)) {
        const d = p.data as Uint8Array;
        for (let i = 0; i < len; i++) out[i] = kind === "any" ? out[i]! | d[i]! : out[i]! & d[i]!;
      }
      return { ...first, data: out, n };
    }
  }
  throw new RangeError(`Expected a reduction kind, got \`${String(kind)}\``);
}

/**
 * The combine of partials some of which carry parts of lines: the lines all of whose parts are
 * here are summed and folded in as one more partial; the others' parts ride on the result.
 */
function combineLines(kind: ReduceKind, partials: readonly PartialResult[]): PartialResult {
  const carried = partials.flatMap((p) => (p.lines === undefined ? [] : [p.lines]));
  const { complete, pending } = mergeLineParts(carried);
  const all = partials.map(({ lines: _, ...rest }) => rest as PartialResult);
  if (complete !== undefined) all.push(foldEntries(kind as PairReduceKind, carried[0]!, complete));
  const combined = reduceCombine(kind, all);
  return pending === undefined ? combined : { ...combined, lines: pending };
}

/**
 * The combine of partials with per-element `counts` (a sparse chunk pair's: its stored values
 * only): var/std merge each element's mean and M2 by Chan et al.'s update with that element's
 * counts; min/max take the extremes; the counts add up.
 */
function combineCounted(kind: ReduceKind, partials: readonly PartialResult[], n: number): PartialResult {
  const first = partials[0]!;
  const len = first.data.length;
  const counts = Float64Array.from(first.counts!);
  if (kind === "var" || kind === "std") {
    const mean = Float64Array.from(first.data as Float64Array);
    const m2 = Float64Array.from(first.aux!);
    for (const p of partials.slice(1)) {
      const mb = p.data as Float64Array;
      const m2b = p.aux!;
      const cb = p.counts!;
      for (let i = 0; i < len; i++) {
        const nb = cb[i]!;
        if (nb === 0) continue;
        const na = counts[i]!;
        const nn = na + nb;
        const delta = mb[i]! - mean[i]!;
        mean[i]! += (delta * nb) / nn;
        m2[i]! += m2b[i]! + (delta * delta * na * nb) / nn;
        counts[i] = nn;
      }
    }
    return { ...first, data: mean, aux: m2, n, counts };
  }
  if (kind !== "min" && kind !== "max") throw new RangeError(`Expected var, std, min or max with counts, got \`${kind}\``);
  const out = (first.data as TypedArray).slice() as unknown as number[];
  const sign = kind === "max" ? 1 : -1;
  for (const p of partials.slice(1)) {
    const d = p.data as unknown as number[];
    const cb = p.counts!;
    for (let i = 0; i < len; i++) {
      counts[i]! += cb[i]!;
      const b = out[i]!;
      const v = d[i]!;
      if (cb[i]! > 0 && b === b && (v !== v || (sign > 0 ? v > b : v < b))) out[i] = v;
    }
  }
  return { ...first, data: out as unknown as TypedArray, n, counts };
}

/**
 * `p` with the zeros its `counts` leave out of each element folded in (each element stands for
 * `p.n` inputs): var/std merge `n - count` zeros into the element's mean and M2, min/max take 0
 * as a candidate where any input is a zero.
 */
function withZeros(kind: ReduceKind, p: PartialResult): PartialResult {
  const counts = p.counts!;
  const N = p.n;
  const len = p.data.length;
  if (kind === "var" || kind === "std") {
    const mean = Float64Array.from(p.data as Float64Array);
    const m2 = Float64Array.from(p.aux!);
    if (N > 0) {
      for (let i = 0; i < len; i++) {
        const c = counts[i]!;
        const m = mean[i]!;
        m2[i]! += (m * m * c * (N - c)) / N;
        mean[i] = (m * c) / N;
      }
    }
    return { data: mean, aux: m2, shape: p.shape, dtype: p.dtype, n: N };
  }
  const out = (p.data as TypedArray).slice() as unknown as number[];
  const zero = (out instanceof BigInt64Array || out instanceof BigUint64Array ? 0n : 0) as number;
  const sign = kind === "max" ? 1 : -1;
  for (let i = 0; i < len; i++) {
    const b = out[i]!;
    if (counts[i]! < N && b === b && (sign > 0 ? zero > b : zero < b)) out[i] = zero;
  }
  return { data: out as unknown as TypedArray, shape: p.shape, dtype: p.dtype, n: N };
}

/** What the final step needs to know about the result. */
export interface AggregateInfo {
  /** The result's block shape (reduced axes dropped unless keepdims). */
  readonly shape: readonly number[];
  readonly dtype: DataType;
  /** Delta degrees of freedom of var/std. */
  readonly ddof?: number;
}

/**
 * The last step of a tree reduction: combine the remaining partials and turn them into a
 * block of the result dtype.
 *
 * @example
 * ```ts
 * reduceAggregate("mean", partials, { shape: [3], dtype: "float32" });
 * ```
 */
export function reduceAggregate(kind: ReduceKind, partials: readonly PartialResult[], info: AggregateInfo): NDArray {
  const combined = reduceCombine(kind, partials);
  if (combined.lines !== undefined) {
    throw new Error(`Expected every line of the reduction to be complete by its last step, got ${combined.lines.parts.length} parts left`);
  }
  const p = combined.counts === undefined ? combined : withZeros(kind, combined);
  const len = p.data.length;
  const out = allocate(info.dtype, len) as TypedArray;
  const big = out instanceof BigInt64Array || out instanceof BigUint64Array;
  const put = (values: ArrayLike<number | bigint>): void => {
    if (big) {
      for (let i = 0; i < len; i++) {
        const v = values[i]!;
        // float → int64 as numpy casts on x86: NaN and out-of-range give INT64_MIN
        out[i] = (typeof v === "bigint" ? v : Math.abs(v) < 2 ** 63 ? BigInt(Math.trunc(v)) : -(2n ** 63n)) as never;
      }
    } else if (info.dtype === "bool") {
      // NaN is true, as numpy casts it; 0n and 0 are false
      for (let i = 0; i < len; i++) out[i] = values[i] === 0 || values[i] === 0n ? 0 : 1;
    } else {
      for (let i = 0; i < len; i++) {
        const v = values[i]!;
        out[i] = typeof v === "bigint" ? Number(BigInt.asIntN(64, v)) : v;
      }
    }
  };
  switch (kind) {
    case "isum":
      if (!big && kindOf(info.dtype) !== "float") {
        // a narrower integer dtype= wraps like numpy's accumulator of that type
        const d = p.data as BigInt64Array;
        for (let i = 0; i < len; i++) out[i] = Number(BigInt.asIntN(32, d[i]!));
      } else put(p.data as BigInt64Array);
      break;
    case "mean": {
      const d = p.data as Float64Array;
      for (let i = 0; i < len; i++) out[i] = d[i]! / p.n;
      break;
    }
    case "var":
    case "std": {
      const m2 = p.aux!;
      const dof = Math.max(p.n - (info.ddof ?? 0), 0);
      for (let i = 0; i < len; i++) out[i] = kind === "std" ? Math.sqrt(m2[i]! / dof) : m2[i]! / dof;
      break;
    }
    case "argmin":
    case "argmax":
      put(p.aux!);
      break;
    default:
      put(p.data as ArrayLike<number | bigint>);
  }
  return { data: out, shape: info.shape, dtype: info.dtype };
}
